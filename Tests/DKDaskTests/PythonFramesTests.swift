import DKCore
import DKTestSupport
import Testing

/// The Python side of the frames (python/dkrun_dask/frames.py) keeps dkrun's frame limit:
/// it refuses to write a message above it, and stops reading at a header announcing one.
@Suite struct PythonFramesTests {
    /// Runs `code` with dkrun_dask importable; returns what it printed.
    func python(_ code: String) throws -> String {
        let r = try Subprocess.run([venvBin + "python", "-c", code], environment: ["PYTHONPATH=" + repoRoot + "/python"])
        #expect(r.status == 0, "\(String(decoding: r.stderr, as: UTF8.self))")
        return String(decoding: r.stdout, as: UTF8.self)
    }

    @Test func theLimitIsDkrunsLimit() throws {
        #expect(try python("from dkrun_dask import frames; print(frames.MAX_FRAME)") == "\(SizeLimit.frame.bytes)\n")
    }

    @Test func aHeaderAboveTheLimitStopsTheReading() throws {
        let out = try python("""
            import io
            from dkrun_dask.frames import FrameError, read_frame
            try:
                read_frame(io.BufferedReader(io.BytesIO(open("\(repoRoot)/Tests/Fixtures/bad-inputs/frames/header-1gib.bin", "rb").read())))
            except FrameError as e:
                print(e)
            """)
        #expect(out == "a frame announcing 1073741824 bytes: more than 256 MiB, the limit for a frame\n")
    }

    /// A message above the limit is refused before anything is written, as a ValueError: the
    /// task that made it fails, the stream stays good.
    @Test func aMessageAboveTheLimitIsNotWritten() throws {
        let out = try python("""
            import io
            from dkrun_dask import frames
            frames.MAX_FRAME = 1 << 20
            stream = io.BytesIO()
            try:
                frames.write_frame(stream, {"result": b"x" * (1 << 20)})
            except ValueError as e:
                print(type(e).__name__, e, len(stream.getvalue()))
            """)
        #expect(out == "FrameTooLarge a message of 1048589 bytes: more than 1 MiB, the limit for a frame 0\n")
    }

    /// A frame bigger than the chunk the reader asks for at a time arrives whole through a pipe.
    @Test func bigFramesArriveWhole() throws {
        let out = try python("""
            import os, threading
            from dkrun_dask.frames import read_frame, write_frame
            r, w = os.pipe()
            value = {"data": bytes(range(256)) * 20000}
            writer = threading.Thread(target=lambda: (write_frame(os.fdopen(w, "wb"), value)))
            writer.start()
            print(read_frame(os.fdopen(r, "rb")) == value)
            writer.join()
            """)
        #expect(out == "True\n")
    }
}
