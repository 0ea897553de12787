using Qat.MLNet.Inference;
using Qat.MLNet.Trainers;
using Qat.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Training;

[TestClass]
public sealed class MlpEnsembleTests
{
    private const int Inputs = 3;

    /// <summary>A member: a random MLP of the given widths, its own standardization and label scaling.</summary>
    private static (nn.Module<Tensor, Tensor> Net, MlpEnsemble.Member Member) RandomMember(int seed, int[] hidden, int outputs, float labelScale, float labelShift)
    {
        torch.manual_seed(seed);
        var net = QatNetwork.Mlp(hidden).Build(ActivationShape.Vector(Inputs), outputs);
        var random = new Random(seed);
        var standardization = new FeatureStandardization(
            Enumerable.Range(0, Inputs).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray(),
            Enumerable.Range(0, Inputs).Select(_ => (float)(0.2 + random.NextDouble() * 3)).ToArray());
        return (net, MlpEnsemble.Read(net, hidden.Length + 1, standardization, labelScale, labelShift));
    }

    /// <summary>What a member predicts for raw features x, in the label's units.</summary>
    private static float[] Predict(nn.Module<Tensor, Tensor> net, FeatureStandardization standardization, float[] x, float labelScale, float labelShift)
    {
        var z = new float[x.Length];
        standardization.Apply(x, z, 1);
        using var noGrad = no_grad();
        using var input = tensor(z, [1, Inputs]);
        net.eval();
        using var output = net.call(input);
        return output.data<float>().ToArray().Select(o => o * labelScale + labelShift).ToArray();
    }

    [TestMethod]
    [DataRow(new[] { 5, 4 }, 3, false, DisplayName = "two hidden layers, classification")]
    [DataRow(new[] { 6 }, 1, true, DisplayName = "one hidden layer, regression")]
    [DataRow(new int[0], 2, true, DisplayName = "linear, regression scaling")]
    public void WriteAverage_MergedNetworkPredictsTheMembersMean_WithEachMembersOwnScalings(int[] hidden, int outputs, bool regression)
    {
        var members = Enumerable.Range(0, 3)
            .Select(m => RandomMember(10 + m, hidden, outputs, regression ? 0.5f + m : 1f, regression ? 3f * m - 1 : 0f))
            .ToList();
        var common = new FeatureStandardization([0.3f, -1f, 2f], [1.5f, 0.7f, 0.25f]);
        float commonScale = regression ? 2.5f : 1f, commonShift = regression ? 0.75f : 0f;
        var merged = QatNetwork.Mlp(hidden.Select(h => h * members.Count).ToArray()).Build(ActivationShape.Vector(Inputs), outputs);
        MlpEnsemble.WriteAverage(merged, members.Select(m => m.Member).ToList(), hidden, Inputs, outputs, common, commonScale, commonShift);

        var random = new Random(5);
        for (int row = 0; row < 20; row++)
        {
            float[] x = Enumerable.Range(0, Inputs).Select(_ => (float)(random.NextDouble() * 10 - 5)).ToArray();
            var expected = new double[outputs];
            foreach (var (net, member) in members)
            {
                var p = Predict(net, member.Standardization!, x, member.LabelScale, member.LabelShift);
                for (int o = 0; o < outputs; o++)
                    expected[o] += p[o] / members.Count;
            }
            var actual = Predict(merged, common, x, commonScale, commonShift);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(expected[o], actual[o], 1e-4 * (1 + Math.Abs(expected[o])), $"row {row}, output {o}");
        }
        foreach (var (net, _) in members)
            net.Dispose();
        merged.Dispose();
    }
}
