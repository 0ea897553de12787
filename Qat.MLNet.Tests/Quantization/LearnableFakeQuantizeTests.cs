using Microsoft.ML;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using Qat.MLNet.Testing;
using Qat.MLNet.Tests.MLNet;
using Qat.MLNet.Tests.Onnx;
using Qat.MLNet.Trainers;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

/// <summary>Learnable scales (LSQ) end to end: prepared, trained, converted with the learned qparams; and through the trainers.</summary>
[TestClass]
[DoNotParallelize] // seeds TorchSharp's global generator
public sealed class LearnableFakeQuantizeTests
{
    [TestMethod]
    [DataRow(QuantBackend.Fbgemm)]
    [DataRow(QuantBackend.Qnnpack)]
    public void Convert_AfterLearningTheScales_UsesTheLearnedQParams_WithinOneStepOfFakeQuant(QuantBackend backend)
    {
        manual_seed(31);
        var model = nn.Sequential(("quant", new QuantStub()), ("fc1", nn.Linear(12, 16)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(16, 3)), ("dequant", new DeQuantStub()));
        model.train();
        using var qat = Quantizer.PrepareQat(Quantizer.FuseModules(model), QConfig.GetDefaultQatLearnable(backend));
        var learnable = qat.modules().OfType<LearnableFakeQuantize>().ToList();
        Assert.HasCount(5, learnable, "input, two weights, two outputs");
        var fc1Weight = (LearnableFakeQuantize)((Qat.MLNet.Modules.Qat.QatModule)ModuleTree.Resolve(qat, "fc1")).WeightFakeQuant;
        Assert.AreEqual(backend == QuantBackend.Qnnpack ? 1 : 16, fc1Weight.Scale.numel(), "per-channel weights get one scale per output channel when the layer is built");

        using (NewDisposeScope())
        {
            for (int i = 0; i < 3; i++)
                qat.forward(randn(32, 12)); // static estimate
        }
        Quantizer.DisableObserver(qat);
        Quantizer.EnableParamLearning(qat);
        var before = learnable.Select(l => l.Scale.detach().clone()).ToList();
        var parameters = qat.parameters().ToList();
        for (int step = 0; step < 20; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(32, 12);
            var loss = nn.functional.cross_entropy(qat.forward(x), x[.., ..3].argmax(1));
            foreach (var p in parameters)
                p.grad?.zero_();
            loss.backward();
            using (no_grad())
            {
                foreach (var p in parameters)
                    if (p.grad is { } g)
                        p.sub_(g * 0.05f);
            }
        }
        Assert.IsTrue(learnable.Zip(before).Any(p => !p.First.Scale.detach().allclose(p.Second)), "the scales moved");
        qat.eval();
        var int8 = Quantizer.Convert(qat);
        Assert.AreEqual(learnable[0].CalculateQParams().Scale.item<float>(), int8.Input.Scale, "the input quantization is the learned one");
        Assert.That.Int8MatchesFakeQuant(int8, qat, OnnxTestModels.RandomInput(64, 12, 8));
    }

    [TestMethod]
    public void Fit_LearnableScales_TrainsAnInt8ModelThatMatchesItsFakeQuantModel()
    {
        var ml = new MLContext(seed: 4);
        var data = ml.Data.LoadFromEnumerable(SyntheticData.Blobs(400, seed: 4));
        var options = new QatMulticlassTrainer.Options { Network = QatNetwork.Mlp(16), Seed = 4, NumberOfFloatEpochs = 2, NumberOfEpochs = 4, FreezeObserversAfterEpoch = 1, LearningRate = 0.01, LearnableScales = true };
        var report = QatMulticlassTrainerTests.Pipeline(ml, options).Fit(data).LastTransformer.TrainingReport!;
        StringAssert.Contains(report.QConfig, "LSQ");
        Assert.IsGreaterThan(0.6, report.Int8.Accuracy!.Value, report.ToString());
        Assert.AreEqual(report.FakeQuantized.Accuracy!.Value, report.Int8.Accuracy!.Value, 0.02, report.ToString());
        Assert.IsTrue(report.Layers.All(l => l.MaxStepsFromFakeQuant <= 1), report.ToString());
    }

    [TestMethod]
    public void BadArguments_AreRefusedNamingTheArgument()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LearnableFakeQuantize(quantMin: 5, quantMax: 5)).Message, "quantMin");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LearnableFakeQuantize(quantMax: 300)).Message, "quint8");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LearnableFakeQuantize(scale: 0)).Message, "scale");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LearnableFakeQuantize(channelLength: 0)).Message, "channelLength");
        using var x = randn(4, 3);
        using var twoScales = tensor(new[] { 0.1f, 0.2f });
        using var zero = tensor(new[] { 0f });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.LearnablePerTensorAffine(x, twoScales, zero, 0, 255)).Message, "scale");
        using var negative = tensor(new[] { -0.1f, 0.1f, 0.1f });
        using var zeros = tensor(new[] { 0f, 0f, 0f });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.LearnablePerChannelAffine(x, negative, zeros, 1, 0, 255)).Message, "positive");
    }

    [TestMethod]
    public void Options_LearnableScalesWithAnExplicitQConfig_AreRefusedNamingTheFix()
    {
        var ml = new MLContext();
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Qat(
            new QatMulticlassTrainer.Options { LearnableScales = true, QConfig = QConfig.GetDefaultQat(QuantBackend.Fbgemm) }));
        StringAssert.Contains(e.Message, "GetDefaultQatLearnable");
        Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options { LearnableScales = true, FreezeObserversAfterEpoch = null }));
    }
}
