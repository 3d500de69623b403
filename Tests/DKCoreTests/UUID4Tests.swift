import Testing
import DKCore

@Suite struct UUID4Tests {
    /// RFC 4122's text form of a random UUID: lowercase hex in groups of 8-4-4-4-12, version 4,
    /// variant 10xx.
    @Test func textIsARandomRFC4122UUID() {
        let ids = (0 ..< 200).map { _ in UUID4.make() }
        for id in ids {
            let groups = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) }, "\(id)")
            #expect(groups[2].first == "4", "\(id)")
            #expect("89ab".contains(groups[3].first ?? "x"), "\(id)")
        }
        #expect(Set(ids).count == ids.count)
        // Every random digit varies from one UUID to the next: no byte is left unset or copied.
        let digits = ids.map { Array($0.filter { $0 != "-" }) }
        for position in 0 ..< 32 where position != 12 {
            #expect(Set(digits.map { $0[position] }).count > 1, "digit \(position)")
        }
        #expect(digits.contains { $0[0 ..< 16] != $0[16 ..< 32] })
    }
}
