import DKCore
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
                      ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func everyByteRoundTripsAndJunkIsRefused() {
        let bytes = (0 ... 255).map(UInt8.init)
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        #expect(Base64.decode("Zm9v\nYmFy\n") == Array("foobar".utf8))  // PEM-style line breaks
        #expect(Base64.decode("not base64!") == nil)
        #expect(Base64.decode("Zg==Zg") == nil)
    }

    @Test func rfc3339Times() {
        #expect(Clock.parseISO8601("1970-01-01T00:00:00Z") == 0)
        #expect(Clock.parseISO8601("2026-11-22T00:40:00Z") == 1_795_308_000)
        #expect(Clock.parseISO8601("2026-11-22T00:40:00.250Z") == 1_795_308_000.25)
        #expect(Clock.parseISO8601("tomorrow") == nil)
    }
}
