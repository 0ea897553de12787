using Qat.MLNet.Optim;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Training;

/// <summary>Our SGD and Adam take the same steps as TorchSharp's (which follow PyTorch), on the same gradients.</summary>
[TestClass]
[DoNotParallelize]
public sealed class ParameterUpdaterTests
{
    [TestMethod]
    [DataRow("sgd", 0.0, 0.0)]
    [DataRow("sgd", 0.9, 0.0)]
    [DataRow("sgd", 0.9, 0.01)]
    [DataRow("adam", 0.0, 0.0)]
    [DataRow("adam", 0.0, 0.01)]
    public void Step_FiveSteps_MatchesTorchSharpOptimizer(string kind, double momentum, double weightDecay)
    {
        manual_seed(3);
        var ours = nn.Linear(5, 3);
        var theirs = nn.Linear(5, 3);
        theirs.load_state_dict(ours.state_dict());
        using var x = randn(7, 5);
        using var reference = kind == "sgd"
            ? optim.SGD(theirs.parameters(), 0.05, momentum: momentum, weight_decay: weightDecay)
            : (optim.Optimizer)optim.Adam(theirs.parameters(), 0.01, weight_decay: weightDecay);
        using ParameterUpdater updater = kind == "sgd"
            ? new SgdUpdater(ours.parameters(), 0.05, momentum, weightDecay)
            : new AdamUpdater(ours.parameters(), 0.01, weightDecay);

        for (int step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            updater.ZeroGrad();
            ours.call(x).pow(2).sum().backward();
            updater.Step();
            reference.zero_grad();
            theirs.call(x).pow(2).sum().backward();
            reference.step();
        }

        foreach (var (a, b) in ours.parameters().Zip(theirs.parameters()))
        {
            var expected = b.data<float>().ToArray();
            var actual = a.data<float>().ToArray();
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected[i], actual[i], 1e-6f * Math.Max(1, Math.Abs(expected[i])), $"{kind} element {i}");
        }
    }

    [TestMethod]
    public void LearningRate_ChangedBetweenSteps_IsUsedByTheNextStep()
    {
        var p = new TorchSharp.Modules.Parameter(ones(2));
        using var updater = new SgdUpdater(new[] { p }, 0.5, momentum: 0, weightDecay: 0);
        using (var scope = NewDisposeScope())
        {
            p.sum().backward();
            updater.Step();
        }
        updater.LearningRate = 0.25;
        using (var scope = NewDisposeScope())
        {
            updater.ZeroGrad();
            p.sum().backward();
            updater.Step();
        }
        CollectionAssert.AreEqual(new[] { 0.25f, 0.25f }, p.data<float>().ToArray());
    }
}
