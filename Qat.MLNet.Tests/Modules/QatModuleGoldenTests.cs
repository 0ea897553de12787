using System.Text.Json;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.Golden;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Modules;

/// <summary>
/// The six QAT modules, built from PyTorch's float parameters and trained three SGD steps exactly as
/// gen_golden.py does, against qat_modules.json: outputs, input and parameter gradients, fake-quant qparams after
/// each step, BatchNorm statistics and the eval-mode output.
/// </summary>
[TestClass]
[TestCategory("Golden")]
public sealed class QatModuleGoldenTests
{
    // 1e-5 relative to the larger of the element and the tensor's largest magnitude: summation order differs between
    // libtorch 2.10 and PyTorch 1.13, and BatchNorm's backward pass subtracts nearly equal sums, so a small element can
    // carry the absolute error of the large ones.
    private const double RelativeTolerance = 1e-5;

    /// <summary>Every case twice: prepared by Quantizer.FuseModules + PrepareQat, and assembled by hand from FromFloat.</summary>
    public static IEnumerable<object[]> Cases() => GoldenData.Cases("qat_modules")
        .SelectMany(c => new[] { "Quantizer", "FromFloat" }.Select(way =>
            new object[] { $"{c.GetProperty("backend").GetString()}:{c.GetProperty("module").GetString()}:{way}", c }));

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataDisplayName = nameof(GoldenData.DisplayName), DynamicDataDisplayNameDeclaringType = typeof(GoldenData))]
    public void QatModule_ThreeTrainingSteps_MatchPyTorch(string name, JsonElement c)
    {
        var backend = c.GetProperty("backend").GetString() == "qnnpack" ? QuantBackend.Qnnpack : QuantBackend.Fbgemm;
        var qconfig = QConfig.GetDefaultQat(backend);
        string kind = c.GetProperty("module").GetString()!;
        using var model = name.EndsWith(":Quantizer", StringComparison.Ordinal)
            ? GoldenModels.PrepareWithQuantizer(kind, c.GetProperty("float_params"), qconfig)
            : GoldenModels.BuildPrepared(kind, c.GetProperty("float_params"), qconfig);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var optimizer = optim.SGD(model.parameters(), 0.1);

        int step = 0;
        foreach (var s in c.GetProperty("steps").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            string what = $"{name} step {step}";
            var x = GoldenData.ToTensor(s.GetProperty("x")).requires_grad_(true);
            optimizer.zero_grad();
            var y = model.forward(x);
            y.backward(new List<Tensor> { GoldenData.ToTensor(s.GetProperty("dy")) });

            AssertClose(s.GetProperty("y"), y, what + " y");
            AssertClose(s.GetProperty("dx"), x.grad!, what + " dx");
            foreach (var g in s.GetProperty("param_grads").EnumerateObject())
            {
                Assert.IsTrue(parameters.ContainsKey(g.Name), $"{what}: parameter {g.Name} is missing; have {string.Join(", ", parameters.Keys)}");
                AssertClose(g.Value, parameters[g.Name].grad!, $"{what} grad {g.Name}");
            }
            var fakeQuants = model.named_modules().Where(m => m.module is FakeQuantize).ToDictionary(m => m.name, m => (FakeQuantize)m.module);
            foreach (var fq in s.GetProperty("fake_quant_after").EnumerateObject())
            {
                Assert.IsTrue(fakeQuants.ContainsKey(fq.Name), $"{what}: FakeQuantize {fq.Name} is missing; have {string.Join(", ", fakeQuants.Keys)}");
                var module = fakeQuants[fq.Name];
                // The input stub sees only x, and the weights before the first SGD step are PyTorch's own: those qparams
                // must be equal to the bit. Later ones inherit the last-bit differences of matmul/conv summation order.
                bool exact = fq.Name.StartsWith("quant.", StringComparison.Ordinal) || (step == 0 && fq.Name.EndsWith("weight_fake_quant", StringComparison.Ordinal));
                if (exact)
                    GoldenData.AssertBitEqual(GoldenData.Floats(fq.Value.GetProperty("scale")), module.Scale.data<float>().ToArray(), $"{what} {fq.Name}.scale");
                else
                    AssertClose(fq.Value.GetProperty("scale"), module.Scale, $"{what} {fq.Name}.scale");
                CollectionAssert.AreEqual(GoldenData.Ints(fq.Value.GetProperty("zero_point")), module.ZeroPoint.data<int>().ToArray(), $"{what} {fq.Name}.zero_point");
            }

            optimizer.step();
            if (step == 1)
            {
                Quantizer.DisableObserver(model);
                Quantizer.FreezeBatchNormStats(model);
            }
            step++;
        }

        var state = model.state_dict();
        foreach (var entry in c.GetProperty("state_after_training").EnumerateObject().Where(e => e.Name.Contains("running_") || e.Name.EndsWith("weight") || e.Name.EndsWith("bias")))
        {
            Assert.IsTrue(state.ContainsKey(entry.Name), $"{name}: state {entry.Name} is missing");
            AssertClose(entry.Value, state[entry.Name], $"{name} state {entry.Name}");
        }

        model.eval();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var convert = c.GetProperty("convert");
            AssertClose(convert.GetProperty("y_fake_quant_eval"), model.forward(GoldenData.ToTensor(convert.GetProperty("x"))), name + " eval output");
        }
    }

    private static void AssertClose(JsonElement expected, Tensor actual, string what)
    {
        var e = GoldenData.Floats(expected);
        var a = actual.detach().reshape(-1).data<float>().ToArray();
        Assert.HasCount(e.Length, a, what + ": length");
        double magnitude = e.Length == 0 ? 0 : e.Max(v => Math.Abs(v));
        for (int i = 0; i < e.Length; i++)
        {
            double tolerance = RelativeTolerance * Math.Max(Math.Max(Math.Abs(e[i]), Math.Abs(a[i])), magnitude);
            if (!(Math.Abs(e[i] - a[i]) <= tolerance))
                Assert.Fail($"{what}[{i}]: expected {e[i]:R}, got {a[i]:R}");
        }
    }
}
