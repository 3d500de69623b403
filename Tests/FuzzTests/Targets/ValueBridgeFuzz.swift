import DKCore
@testable import DKLua

/// The Lua value bridge on any value (the input decoded as MessagePack, as values come to a
/// Lua state from payloads and upstream results): pushed into a Lua state and read back, the
/// stack left as it was; a value read back crosses again unchanged.
enum ValueBridgeFuzz {
    private static let lua = LuaState()

    static func run(_ input: [UInt8]) {
        guard let value = try? MessagePack.decode(input), let back = roundTrip(value) else { return }
        let again = roundTrip(back)
        fuzzCheck(again == back, "\(value) crosses as \(back), then as \(again.map { "\($0)" } ?? "an error")")
    }

    private static func roundTrip(_ value: Value) -> Value? {
        let top = lua.top
        var back: Value?
        if (try? lua.push(value)) != nil {
            back = try? lua.value(at: -1, path: "value")
            lua.pop()
        }
        fuzzCheck(lua.top == top, "the bridge left \(lua.top - top) values on the Lua stack")
        return back
    }
}
