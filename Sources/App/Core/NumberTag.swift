import Leaf
import VivierCore

/// `#number(x)`: a count as the page's language writes it — "12 480" in French, "12,480" in English.
struct NumberTag: LeafTag {
    func render(_ ctx: LeafContext) throws -> LeafData {
        try ctx.requireParameterCount(1)
        guard let value = ctx.parameters[0].int else { return ctx.parameters[0] }
        let language = ctx.data["lang"]?.string.flatMap(Language.init(rawValue:)) ?? .fr
        return .string(value.formatted(.number.locale(language.locale)))
    }
}
