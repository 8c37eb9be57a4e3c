extension Array where Element == UnitGroup {
    /// These groups with every block-list group of `lists` inserted right before the first group inside one of its
    /// blocks (module key starting with `<list>.`), so that a model's groups stay in execution order with each list
    /// ahead of its blocks' heads and neurons; a list none of whose blocks has inner groups goes at the end.
    public func insertingBlockLists(_ lists: [UnitGroup]) -> [UnitGroup] {
        var result: [UnitGroup] = []
        var pending = lists
        for group in self {
            if let index = pending.firstIndex(where: { group.moduleKey.hasPrefix($0.moduleKey + ".") }) {
                result.append(pending.remove(at: index))
            }
            result.append(group)
        }
        return result + pending
    }
}
