import PruneTensor

/// Every gradient-check entry. `GradientCheckTests` runs each one and proves that together they record
/// every ``OpKind`` the engine defines.
enum GradientCheckTable {
    static let all: [GradientCase] = elementwise + unary + reductions + shape + linearAlgebra + layers
}
