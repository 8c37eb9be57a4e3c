import PruneKit

extension PrunableModel {
    /// The head and neuron groups the PyTorch comparison masks and prunes: the model's unit groups without block
    /// lists, whose `m·block(x) + (1 − m)·x` masking the reference scripts do not implement.
    var comparedUnitGroups: [UnitGroup] { unitGroups.filter { !$0.isBlockList } }
}
