using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

/// <summary>FakeQuantize state travels through TorchSharp's state dict and save/load.</summary>
[TestClass]
public sealed class FakeQuantizeStateTests
{
    [TestMethod]
    [DataRow(QuantBackend.Fbgemm)]
    [DataRow(QuantBackend.Qnnpack)]
    public void LoadStateDict_TrainedWeightFakeQuantIntoFreshOne_RestoresQParamsAndSwitches(QuantBackend backend)
    {
        var factory = QConfig.GetDefaultQat(backend).Weight;
        using var trained = (FakeQuantize)factory.Create();
        using var fresh = (FakeQuantize)factory.Create();
        using var scope = NewDisposeScope();
        trained.forward(randn(5, 3));
        trained.DisableObserver();

        fresh.load_state_dict(trained.state_dict());

        CollectionAssert.AreEqual(trained.Scale.data<float>().ToArray(), fresh.Scale.data<float>().ToArray());
        CollectionAssert.AreEqual(trained.ZeroPoint.data<int>().ToArray(), fresh.ZeroPoint.data<int>().ToArray());
        CollectionAssert.AreEqual(trained.ActivationPostProcess.MinVal.data<float>().ToArray(), fresh.ActivationPostProcess.MinVal.data<float>().ToArray());
        Assert.IsFalse(fresh.ObserverEnabled);
        var x = randn(5, 3);
        CollectionAssert.AreEqual(trained.forward(x).data<float>().ToArray(), fresh.forward(x).data<float>().ToArray());
    }

    [TestMethod]
    public void QuantizationStateLoad_SavedPerChannelState_RestoresQParams()
    {
        var factory = QConfig.GetDefaultQat(QuantBackend.Fbgemm).Weight;
        using var trained = (FakeQuantize)factory.Create();
        using var fresh = (FakeQuantize)factory.Create();
        using var scope = NewDisposeScope();
        trained.forward(randn(4, 2));
        var saved = new MemoryStream();
        trained.save(saved);
        using var stream = new MemoryStream(saved.ToArray());
        QuantizationState.Load(fresh, stream);
        CollectionAssert.AreEqual(trained.Scale.data<float>().ToArray(), fresh.Scale.data<float>().ToArray());
    }

    [TestMethod]
    public void QuantizationStateLoad_NestedModel_ResizesEveryQuantBuffer()
    {
        var factory = QConfig.GetDefaultQat(QuantBackend.Fbgemm).Weight;
        using var trained = nn.Sequential(("fq", (nn.Module<Tensor, Tensor>)factory.Create()));
        using var fresh = nn.Sequential(("fq", (nn.Module<Tensor, Tensor>)factory.Create()));
        using var scope = NewDisposeScope();
        trained.forward(randn(6, 2));
        QuantizationState.LoadStateDict(fresh, trained.state_dict());
        Assert.AreEqual(6L, ((FakeQuantize)fresh[0]).Scale.numel());
    }

    [TestMethod]
    public void QuantizationStateLoad_GarbageStream_ThrowsInvalidData()
    {
        using var fq = (FakeQuantize)QConfig.GetDefaultQat(QuantBackend.Fbgemm).Weight.Create();
        using var stream = new MemoryStream(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f });
        Assert.ThrowsExactly<InvalidDataException>(() => QuantizationState.Load(fq, stream));
        using var truncated = new MemoryStream(new byte[] { 3, 5 });
        Assert.ThrowsExactly<InvalidDataException>(() => QuantizationState.Load(fq, truncated));
    }
}
