using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Intrinsic = Qat.MLNet.Modules.Intrinsic;
using QatModules = Qat.MLNet.Modules.Qat;

namespace Qat.MLNet.Tests.Modules;

[TestClass]
public sealed class QuantizerTests
{
    private static readonly QConfig Fbgemm = QConfig.GetDefaultQat(QuantBackend.Fbgemm);

    private static Sequential SmallCnn() => nn.Sequential(
        ("quant", new QuantStub()),
        ("features", nn.Sequential(
            ("conv1", nn.Conv2d(1, 4, 3, padding: 1)), ("bn1", nn.BatchNorm2d(4)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(4, 4, 3, padding: 1)), ("relu2", nn.ReLU()), ("pool2", nn.AvgPool2d(2)))),
        ("flatten", nn.Flatten()),
        ("drop", nn.Dropout(0.1)),
        ("fc1", nn.Linear(16, 8)), ("relu3", nn.ReLU()),
        ("id", nn.Identity()),
        ("fc2", nn.Linear(8, 3)),
        ("dequant", new DeQuantStub()));

    [TestMethod]
    public void FuseModules_Automatic_FusesPatternsInNestedSequentials()
    {
        using var model = SmallCnn();
        using var fused = Quantizer.FuseModules(model);
        var types = fused.named_modules().ToDictionary(m => m.name, m => m.module.GetType());
        Assert.AreEqual(typeof(Intrinsic.ConvBnReLU2d), types["features.conv1"]);
        Assert.AreEqual(typeof(Identity), types["features.bn1"]);
        Assert.AreEqual(typeof(Identity), types["features.relu1"]);
        Assert.AreEqual(typeof(Intrinsic.ConvReLU2d), types["features.conv2"]);
        Assert.AreEqual(typeof(Intrinsic.LinearReLU), types["fc1"]);
        Assert.AreEqual(typeof(TorchSharp.Modules.Linear), types["fc2"]);
        Assert.IsInstanceOfType<TorchSharp.Modules.Conv2d>(((Sequential)model[1])[0], "inplace false leaves the float model as it was");
    }

    [TestMethod]
    public void FuseModules_SameInputs_GiveSameOutputsAsTheFloatModel()
    {
        using var model = SmallCnn();
        model.eval();
        using var fused = Quantizer.FuseModules(model);
        fused.eval();
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 8, 8);
        CollectionAssert.AreEqual(model.forward(x).data<float>().ToArray(), fused.forward(x).data<float>().ToArray());
    }

    [TestMethod]
    public void FuseModules_UnsupportedGroup_ThrowsListingThePatterns()
    {
        using var model = SmallCnn();
        var e = Assert.ThrowsExactly<ArgumentException>(() => Quantizer.FuseModules(model, new[] { new[] { "features.relu1", "features.pool1" } }));
        StringAssert.Contains(e.Message, "[Linear, ReLU]");
        var missing = Assert.ThrowsExactly<ArgumentException>(() => Quantizer.FuseModules(model, new[] { new[] { "features.conv9", "features.bn1" } }));
        StringAssert.Contains(missing.Message, "conv9");
        Assert.ThrowsExactly<ArgumentException>(() => Quantizer.FuseModules(model, new[] { new[] { "fc1", "relu3" }, new[] { "fc1", "relu3" } }));
        Assert.ThrowsExactly<ArgumentException>(() => Quantizer.FuseModules(model, new[] { new[] { "fc1", "relu3" }, new[] { "features.relu1", "features.pool1" } }, inplace: true));
        Assert.IsInstanceOfType<TorchSharp.Modules.Linear>(model[4], "a bad group leaves an in-place model as it was");
    }

    [TestMethod]
    public void PrepareQat_NotInplace_LeavesFloatModelUntouchedAndTrains()
    {
        using var model = SmallCnn();
        model.train();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var qat = Quantizer.PrepareQat(Quantizer.FuseModules(model), Fbgemm);
        using var optimizer = optim.SGD(qat.parameters(), 0.1);
        using (var scope = NewDisposeScope())
        {
            var loss = qat.forward(randn(4, 1, 8, 8)).sum();
            loss.backward();
            optimizer.step();
        }
        foreach (var (key, value) in model.state_dict())
            Assert.IsTrue(before[key].equal(value).all().item<bool>(), $"float {key} changed");
        Assert.IsInstanceOfType<TorchSharp.Modules.Linear>(model[4]);
        var names = qat.named_modules().Select(m => m.name).ToHashSet();
        CollectionAssert.IsSubsetOf(new[] { "quant.activation_post_process", "features.conv1.weight_fake_quant", "features.conv1.activation_post_process", "features.conv1.bn", "fc2.activation_post_process" }, names.ToArray());
    }

    [TestMethod]
    public void PrepareQat_SetQConfigNull_KeepsThatModuleFloat()
    {
        using var model = SmallCnn();
        model.train();
        Quantizer.SetQConfig((nn.Module)model[7], null); // fc2
        using var qat = Quantizer.PrepareQat(model, Fbgemm);
        var children = qat.named_children().ToDictionary(c => c.name, c => c.module);
        // Float, with its output fake-quantized for the int8 layers after it (mixed precision).
        var fallback = (FloatFallback)children["fc2"];
        Assert.AreEqual(typeof(TorchSharp.Modules.Linear), fallback.Module.GetType());
        Assert.IsNotNull(fallback.ActivationPostProcess);
        Assert.AreEqual(typeof(QatModules.Linear), children["fc1"].GetType());
    }

    [TestMethod]
    public void PrepareQat_CustomMapping_RemovedTypeStaysFloat()
    {
        using var model = nn.Sequential(("fc", nn.Linear(3, 2)));
        model.train();
        using var qat = Quantizer.PrepareQat(model, Fbgemm, QatMappings.Default.Remove<TorchSharp.Modules.Linear>());
        Assert.IsInstanceOfType<TorchSharp.Modules.Linear>(((Sequential)qat)[0]);
        Assert.AreEqual(6, QatMappings.Default.FloatTypes.Count, "Default hands out copies");
    }

    [TestMethod]
    public void PrepareQat_UserMappingEntry_IsUsed()
    {
        using var model = nn.Sequential(("fc", nn.Linear(3, 2)));
        model.train();
        int calls = 0;
        var mapping = QatMappings.Default.Add<TorchSharp.Modules.Linear>((module, qconfig) =>
        {
            calls++;
            return QatModules.Linear.FromFloat(module, qconfig);
        });
        using var qat = Quantizer.PrepareQat(model, Fbgemm, mapping);
        Assert.AreEqual(1, calls);
        Assert.IsInstanceOfType<QatModules.Linear>(((Sequential)qat)[0]);
    }

    [TestMethod]
    public void PrepareQat_EvalModeOrPreparedTwice_Throws()
    {
        using var model = SmallCnn();
        model.eval();
        Assert.ThrowsExactly<InvalidOperationException>(() => Quantizer.PrepareQat(model, Fbgemm));
        model.train();
        using var qat = Quantizer.PrepareQat(model, Fbgemm);
        Assert.ThrowsExactly<InvalidOperationException>(() => Quantizer.PrepareQat(qat, Fbgemm, inplace: true));
    }

    private sealed class TypedFieldNet : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006 // TorchSharp names a child after its field: the path is "fc", as in a user's module
        private readonly TorchSharp.Modules.Linear fc = nn.Linear(4, 2);
#pragma warning restore IDE1006

        public TypedFieldNet() : base(nameof(TypedFieldNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc.forward(x);
    }

    private sealed class FlexibleNet : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE0044, IDE1006 // PrepareQat swaps the module held by this field (not readonly, as a user's); the child is named "fc" after it
        private nn.Module<Tensor, Tensor> fc = nn.Linear(4, 2);
#pragma warning restore IDE0044, IDE1006

        public FlexibleNet() : base(nameof(FlexibleNet)) => RegisterComponents();

        public nn.Module<Tensor, Tensor> Fc => fc;

        public override Tensor forward(Tensor x) => fc.call(x);
    }

    [TestMethod]
    public void PrepareQat_CustomModuleWithTypedField_ThrowsNamingTheField()
    {
        using var model = new TypedFieldNet();
        model.train();
        var e = Assert.ThrowsExactly<NotSupportedException>(() => Quantizer.PrepareQat(model, Fbgemm, inplace: true));
        StringAssert.Contains(e.Message, "'fc'");
        Assert.IsInstanceOfType<TorchSharp.Modules.Linear>(model.named_children().Single().module, "a failed in-place prepare changes nothing");
        var copy = Assert.ThrowsExactly<NotSupportedException>(() => Quantizer.PrepareQat(model, Fbgemm));
        StringAssert.Contains(copy.Message, "inplace: true");
    }

    [TestMethod]
    public void PrepareQat_CustomModuleWithModuleField_SwapsFieldAndRegistration()
    {
        using var model = new FlexibleNet();
        model.train();
        Quantizer.PrepareQat(model, Fbgemm, inplace: true);
        Assert.IsInstanceOfType<QatModules.Linear>(model.Fc);
        Assert.IsTrue(model.named_modules().Any(m => m.name == "fc.weight_fake_quant"));
        using var scope = NewDisposeScope();
        Assert.AreEqual(2L, model.forward(randn(3, 4)).shape[1]);
    }

    [TestMethod]
    public void FreezeBatchNormStats_TrainingForward_LeavesRunningStatsAlone()
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(1, 2, 3)), ("bn", nn.BatchNorm2d(2)));
        model.train();
        using var qat = Quantizer.PrepareQat(Quantizer.FuseModules(model), Fbgemm);
        var convBn = (QatModules.ConvBn2d)((Sequential)qat)[0];
        using var scope = NewDisposeScope();
        qat.forward(randn(2, 1, 5, 5));
        Quantizer.FreezeBatchNormStats(qat);
        qat.train();
        var mean = convBn.BatchNorm.running_mean!.clone();
        qat.forward(randn(2, 1, 5, 5) * 3 + 1);
        Assert.IsTrue(mean.equal(convBn.BatchNorm.running_mean!).all().item<bool>());
        Quantizer.UpdateBatchNormStats(qat);
        qat.forward(randn(2, 1, 5, 5) * 3 + 1);
        Assert.IsFalse(mean.equal(convBn.BatchNorm.running_mean!).all().item<bool>());
    }

    [TestMethod]
    public void ScheduleHelpers_ReachEveryFakeQuantize()
    {
        using var model = SmallCnn();
        model.train();
        using var qat = Quantizer.PrepareQat(Quantizer.FuseModules(model), Fbgemm);
        var fakeQuants = qat.modules().OfType<FakeQuantize>().ToList();
        Assert.AreEqual(9, fakeQuants.Count); // the input stub, and weight + activation of conv1, conv2, fc1, fc2
        Quantizer.DisableObserver(qat);
        Quantizer.DisableFakeQuant(qat);
        Assert.IsTrue(fakeQuants.All(f => !f.ObserverEnabled && !f.FakeQuantEnabled));
        Quantizer.EnableObserver(qat);
        Quantizer.EnableFakeQuant(qat);
        Assert.IsTrue(fakeQuants.All(f => f.ObserverEnabled && f.FakeQuantEnabled));
    }

    [TestMethod]
    public void FromFloat_WrongTypeOrNoQConfig_ThrowsClearly()
    {
        using var conv = nn.Conv2d(1, 1, 3);
        var e = Assert.ThrowsExactly<ArgumentException>(() => QatModules.Linear.FromFloat(conv, Fbgemm));
        StringAssert.Contains(e.Message, "Linear");
        using var linear = nn.Linear(2, 2);
        Assert.ThrowsExactly<ArgumentNullException>(() => QatModules.Linear.FromFloat(linear, null!));
        Assert.ThrowsExactly<ArgumentException>(() => QatModules.LinearReLU.FromFloat(linear, Fbgemm));
        using var reflect = nn.Conv2d(1, 1, 3, padding: 1, padding_mode: PaddingModes.Reflect);
        Assert.ThrowsExactly<NotSupportedException>(() => QatModules.Conv2d.FromFloat(reflect, Fbgemm));
    }

    [TestMethod]
    public void FromFloat_SharesParameters()
    {
        using var linear = nn.Linear(3, 2);
        using var qat = QatModules.Linear.FromFloat(linear, Fbgemm);
        Assert.AreSame(linear.weight, qat.Weight);
        Assert.AreSame(linear.bias, qat.Bias);
        using var back = (TorchSharp.Modules.Linear)qat.ToFloat();
        Assert.AreSame(qat.Weight, back.weight);
    }
}
