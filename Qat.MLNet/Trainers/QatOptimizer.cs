namespace Qat.MLNet.Trainers;

/// <summary>The optimizer a Qat trainer uses (PyTorch: <c>torch.optim.SGD</c>, <c>torch.optim.Adam</c>).</summary>
public enum QatOptimizer
{
    /// <summary>Stochastic gradient descent with momentum (<see cref="QatTrainerOptions.Momentum"/>).</summary>
    Sgd,

    /// <summary>Adam with PyTorch's default betas (0.9, 0.999) and eps 1e-8.</summary>
    Adam,
}
