using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Observers;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

[TestClass]
public sealed class FakeQuantizeTests
{
    [TestMethod]
    public void StateDict_HoldsPyTorchBufferNames()
    {
        using var fq = QConfig.GetDefaultQat(QuantBackend.Fbgemm).Weight.Create();
        var keys = fq.state_dict().Keys.OrderBy(k => k).ToArray();
        CollectionAssert.AreEqual(new[] { "activation_post_process.eps", "activation_post_process.max_val", "activation_post_process.min_val", "fake_quant_enabled", "observer_enabled", "scale", "zero_point" }, keys);
    }

    [TestMethod]
    public void Forward_PerChannelWeight_ScaleBufferGrowsToChannelsAndIsInStateDict()
    {
        using var fq = (FakeQuantize)QConfig.GetDefaultQat(QuantBackend.Fbgemm).Weight.Create();
        using var scope = NewDisposeScope();
        fq.forward(randn(6, 4));
        Assert.AreEqual(6L, fq.Scale.numel());
        Assert.AreEqual(6L, fq.state_dict()["scale"].numel());
        Assert.AreEqual(6L, fq.state_dict()["activation_post_process.min_val"].numel());
        CollectionAssert.AreEqual(new int[6], fq.ZeroPoint.data<int>().ToArray());
    }

    [TestMethod]
    public void DisableObserver_FreezesQParams()
    {
        using var fq = QConfig.GetDefaultQat(QuantBackend.Qnnpack).Activation.Create() as FakeQuantize;
        using var scope = NewDisposeScope();
        fq!.forward(randn(100));
        float scale = fq.Scale.item<float>();
        fq.DisableObserver();
        Assert.IsFalse(fq.ObserverEnabled);
        fq.forward(randn(100) * 50);
        Assert.AreEqual(scale, fq.Scale.item<float>());
        fq.EnableObserver();
        fq.forward(randn(100) * 50);
        Assert.AreNotEqual(scale, fq.Scale.item<float>());
    }

    [TestMethod]
    public void DisableFakeQuant_PassesInputThrough()
    {
        using var fq = new FakeQuantize();
        using var scope = NewDisposeScope();
        var x = randn(10);
        fq.DisableFakeQuant();
        CollectionAssert.AreEqual(x.data<float>().ToArray(), fq.forward(x).data<float>().ToArray());
        fq.EnableFakeQuant();
        CollectionAssert.AreNotEqual(x.data<float>().ToArray(), fq.forward(x).data<float>().ToArray());
    }

    [TestMethod]
    public void Forward_StraightThroughGradient_ZeroOutsideRange()
    {
        using var fq = new FakeQuantize(MovingAverageMinMaxObserver.WithArgs(), 0, 255);
        using var scope = NewDisposeScope();
        fq.forward(tensor(new[] { 0f, 1f }));
        fq.DisableObserver();
        var x = tensor(new[] { -5f, 0.5f, 5f }).requires_grad_(true);
        var y = fq.forward(x);
        y.backward(new List<Tensor> { ones_like(y) });
        CollectionAssert.AreEqual(new[] { 0f, 1f, 0f }, x.grad!.data<float>().ToArray());
    }

    [TestMethod]
    public void WithArgs_EachCreate_MakesANewInstance()
    {
        var factory = FakeQuantize.WithArgs(quantMin: 0, quantMax: 255);
        using var a = factory.CreateFakeQuantize();
        using var b = factory.CreateFakeQuantize();
        Assert.AreNotSame(a, b);
        Assert.AreNotSame(a.ActivationPostProcess, b.ActivationPostProcess);
        using var scope = NewDisposeScope();
        a.forward(randn(10) * 100);
        Assert.AreEqual(1f, b.Scale.item<float>(), "instances share no state");
    }

    [TestMethod]
    public void WithArgs_Refined_LaterArgumentsWinAndOriginalIsUnchanged()
    {
        var basic = FakeQuantize.WithArgs(MovingAverageMinMaxObserver.WithArgs(averagingConstant: 0.5f), quantMin: 0, quantMax: 255);
        var refined = basic.WithArgs(reduceRange: true, dtype: QuantDType.QUInt8);
        using var a = basic.CreateFakeQuantize();
        using var b = refined.CreateFakeQuantize();
        Assert.AreEqual(255, a.QuantMax);
        Assert.AreEqual(127, b.QuantMax);
        Assert.AreEqual(0.5f, ((MovingAverageMinMaxObserver)b.ActivationPostProcess).AveragingConstant);
    }

    [TestMethod]
    public void ObserverFactory_WithArgs_RefinesAndKeepsKind()
    {
        var f = PerChannelMinMaxObserver.WithArgs(chAxis: 1).WithArgs(dtype: QuantDType.QInt8, qscheme: QScheme.PerChannelSymmetric);
        using var o = (PerChannelMinMaxObserver)f.Create();
        Assert.AreEqual(1, o.ChAxis);
        Assert.AreEqual(QuantDType.QInt8, o.Dtype);
        Assert.ThrowsExactly<ArgumentException>(() => MinMaxObserver.WithArgs().WithArgs(chAxis: 1));
        Assert.ThrowsExactly<ArgumentException>(() => PerChannelMinMaxObserver.WithArgs().WithArgs(averagingConstant: 0.1f));
    }

    [TestMethod]
    [DataRow(QuantBackend.Fbgemm, 0, 127, QScheme.PerChannelSymmetric)]
    [DataRow(QuantBackend.X86, 0, 127, QScheme.PerChannelSymmetric)]
    [DataRow(QuantBackend.Qnnpack, 0, 255, QScheme.PerTensorSymmetric)]
    public void GetDefaultQat_Backend_MatchesPyTorchVersion0(QuantBackend backend, int actMin, int actMax, QScheme weightScheme)
    {
        var qconfig = QConfig.GetDefaultQat(backend);
        using var act = (FakeQuantize)qconfig.Activation.Create();
        using var weight = (FakeQuantize)qconfig.Weight.Create();
        Assert.AreEqual((actMin, actMax), (act.QuantMin, act.QuantMax));
        Assert.AreEqual(QuantDType.QUInt8, act.Dtype);
        Assert.AreEqual(QScheme.PerTensorAffine, act.QScheme);
        Assert.IsInstanceOfType<MovingAverageMinMaxObserver>(act.ActivationPostProcess);
        Assert.AreEqual((-128, 127), (weight.QuantMin, weight.QuantMax));
        Assert.AreEqual(QuantDType.QInt8, weight.Dtype);
        Assert.AreEqual(weightScheme, weight.QScheme);
    }

    [TestMethod]
    public void Constructor_BadRanges_ThrowNamingTheArgument()
    {
        Assert.AreEqual("quantMin", Assert.ThrowsExactly<ArgumentException>(() => new FakeQuantize(null, 10, 5)).ParamName);
        Assert.AreEqual("quantMax", Assert.ThrowsExactly<ArgumentException>(() => new FakeQuantize(null, 0, 300)).ParamName);
        Assert.AreEqual("quantMin", Assert.ThrowsExactly<ArgumentException>(() => new FakeQuantize(MovingAverageMinMaxObserver.WithArgs(dtype: QuantDType.QInt8), -200, 100)).ParamName);
        Assert.ThrowsExactly<ArgumentException>(() => new FakeQuantize(null, 0, null));
    }

    [TestMethod]
    public void Observers_BadSettings_ThrowNamingTheArgument()
    {
        Assert.AreEqual("reduceRange", Assert.ThrowsExactly<ArgumentException>(() => new MinMaxObserver(QuantDType.QUInt8, QScheme.PerTensorSymmetric, reduceRange: true)).ParamName);
        Assert.AreEqual("qscheme", Assert.ThrowsExactly<ArgumentException>(() => new MinMaxObserver(qscheme: QScheme.PerChannelAffine)).ParamName);
        Assert.AreEqual("qscheme", Assert.ThrowsExactly<ArgumentException>(() => new PerChannelMinMaxObserver(qscheme: QScheme.PerTensorAffine)).ParamName);
        Assert.AreEqual("averagingConstant", Assert.ThrowsExactly<ArgumentException>(() => new MovingAverageMinMaxObserver(averagingConstant: 0f)).ParamName);
        Assert.AreEqual("eps", Assert.ThrowsExactly<ArgumentException>(() => new MinMaxObserver(eps: 0f)).ParamName);
        Assert.AreEqual("chAxis", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PerChannelMinMaxObserver(chAxis: -1)).ParamName);
    }

    [TestMethod]
    public void QConfig_NullOrInvalidFactory_Throws()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => new QConfig(null!, QConfig.DefaultWeightFakeQuant));
        var invalid = FakeQuantize.WithArgs(qscheme: QScheme.PerTensorSymmetric, reduceRange: true);
        Assert.ThrowsExactly<ArgumentException>(() => new QConfig(invalid, QConfig.DefaultWeightFakeQuant));
    }

    [TestMethod]
    public void Observer_NaNInput_CalculateQParamsSaysWhatIsWrong()
    {
        using var observer = new MinMaxObserver();
        using var scope = NewDisposeScope();
        observer.forward(tensor(new[] { 1f, float.NaN }));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => observer.CalculateQParams());
        StringAssert.Contains(e.Message, "NaN");
    }

    [TestMethod]
    public void PerChannelObserver_ChannelCountChanges_Throws()
    {
        using var observer = new PerChannelMinMaxObserver();
        using var scope = NewDisposeScope();
        observer.forward(randn(4, 3));
        Assert.ThrowsExactly<ArgumentException>(() => observer.forward(randn(5, 3)));
    }

    [TestMethod]
    public void Forward_InsideCallerDisposeScope_BuffersSurviveTheScope()
    {
        using var fq = (FakeQuantize)QConfig.GetDefaultQat(QuantBackend.Fbgemm).Weight.Create();
        using (var scope = NewDisposeScope())
            fq.forward(randn(3, 2));
        Assert.AreEqual(3L, fq.Scale.numel());
        Assert.IsTrue(fq.Scale.data<float>().ToArray().All(s => s > 0));
    }

    [TestMethod]
    public void Forward_AfterBuffersMovedToFloat64_StillReadsItsQParams()
    {
        using var fq = new FakeQuantize(MovingAverageMinMaxObserver.WithArgs(), 0, 255);
        using var scope = NewDisposeScope();
        fq.forward(tensor(new[] { 0f, 2.55f }));
        fq.DisableObserver();
        fq.to(ScalarType.Float64);
        Assert.AreEqual(ScalarType.Float64, fq.Scale.dtype);
        var y = fq.forward(tensor(new[] { 1.004f }));
        Assert.AreEqual(1.0f, y.item<float>(), 1e-6f);
        Assert.IsFalse(fq.ObserverEnabled);
    }
}
