using Qat.MLNet.Inference;
using Qat.MLNet.Onnx;
using Qat.MLNet.Quantization;
using Qat.MLNet.Scoring;

namespace Qat.MLNet.Tests.Onnx;

/// <summary>
/// The standalone export of a <see cref="QuantizedModel"/> run in ONNX Runtime against the int8 engine: the integer
/// form gives the engine's own outputs, the QDQ form is within one output step, and ONNX Runtime really runs integer
/// kernels on both.
/// </summary>
[TestClass]
[DoNotParallelize] // the test networks seed TorchSharp's global generator
public sealed class QuantizedModelOnnxExportTests
{
    private const int Batch = 64;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var backend in new[] { QuantBackend.Fbgemm, QuantBackend.Qnnpack })
        {
            foreach (var network in new[] { "mlp", "cnn", "cnn-avgpool" })
            {
                foreach (var form in new[] { QatOnnxForm.IntegerOperators, QatOnnxForm.Qdq })
                    yield return new object[] { network, backend, form };
            }
        }
    }

    private static QuantizedModel Network(string name, QuantBackend backend) => name switch
    {
        "mlp" => OnnxTestModels.Mlp(backend),
        "cnn" => OnnxTestModels.Cnn(backend),
        _ => OnnxTestModels.CnnWithAveragePool(backend),
    };

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Export_RunInOnnxRuntime_MatchesTheInt8Engine(string network, QuantBackend backend, QatOnnxForm form)
    {
        var model = Network(network, backend);
        var input = OnnxTestModels.RandomInput(Batch, model.InputSize, 3);
        var expected = model.Predict(input, Batch);
        var actual = OnnxRuntimeRunner.Run(Export(model, form), "input", input, Batch, "output");

        Assert.HasCount(expected.Length, actual);
        float step = model.Output.Scale;
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) / step;
        int labelsDiffering = Enumerable.Range(0, Batch).Count(r => MulticlassScoringTask.ArgMax(expected.AsSpan(r * model.OutputSize, model.OutputSize)) != MulticlassScoringTask.ArgMax(actual.AsSpan(r * model.OutputSize, model.OutputSize)));
        Console.WriteLine($"{network} {backend} {form}: largest difference {worst:F3} output steps, {labelsDiffering} arg-max differences");
        if (form == QatOnnxForm.IntegerOperators)
        {
            // The integer form computes the engine's integers: the same levels, dequantized the same way.
            CollectionAssert.AreEqual(expected, actual, $"largest difference {worst:F3} output steps");
        }
        else
        {
            Assert.IsLessThanOrEqualTo(1.0001, worst);
        }
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Export_OptimizedByOnnxRuntime_RunsIntegerKernels(string network, QuantBackend backend, QatOnnxForm form)
    {
        var operators = OnnxRuntimeRunner.OptimizedOperators(Export(Network(network, backend), form));
        Console.WriteLine(string.Join(", ", operators));
        // No float convolution or matrix product survives: ONNX Runtime fused every QDQ group into an integer kernel.
        var floatMath = operators.Where(o => o is "Conv" or "Gemm" or "MatMul" or "com.microsoft.FusedConv" or "com.microsoft.FusedGemm" or "com.microsoft.FusedMatMul").ToList();
        Assert.IsEmpty(floatMath, string.Join(", ", operators));
        Assert.IsTrue(operators.Any(o => o.EndsWith("QLinearConv", StringComparison.Ordinal) || o.EndsWith("QGemm", StringComparison.Ordinal)
            || o.EndsWith("MatMulInteger", StringComparison.Ordinal) || o.EndsWith("QLinearMatMul", StringComparison.Ordinal)), string.Join(", ", operators));
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Export_WeightType_IsUInt8ForFullRangeInputs_Int8ForReduceRange(string network, QuantBackend backend, QatOnnxForm form)
    {
        // ONNX Runtime's u8 x s8 kernels without VNNI (AVX2) add product pairs in saturating int16: full-range (qnnpack)
        // inputs need u8 x u8, which any host computes exactly; fbgemm's 7-bit inputs keep the faster int8 weights.
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(Export(Network(network, backend), form)).Graph;
        var weights = graph.Initializer.Where(t => t.Name.Contains("weight", StringComparison.Ordinal) && !t.Name.Contains("scale", StringComparison.Ordinal)).ToList();
        Assert.IsNotEmpty(weights);
        int expected = backend == QuantBackend.Qnnpack ? (int)global::Onnx.TensorProto.Types.DataType.Uint8 : (int)global::Onnx.TensorProto.Types.DataType.Int8;
        foreach (var w in weights)
            Assert.AreEqual(expected, w.DataType, $"{w.Name} of the {backend} {network}");
    }

    [TestMethod]
    public void Export_OpsetOutOfRange_SaysWhichOpsetsAreWritten()
    {
        var model = OnnxTestModels.Mlp(QuantBackend.Fbgemm);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.ExportToOnnx(new MemoryStream(), new QatOnnxExportOptions { OpsetVersion = 12 }));
        StringAssert.Contains(e.Message, "from 13 to 21");
        StringAssert.Contains(e.Message, "ConvertToOnnx");
    }

    [TestMethod]
    public void Export_EveryOpsetFrom13To21_LoadsInOnnxRuntime()
    {
        var model = OnnxTestModels.CnnWithAveragePool(QuantBackend.Fbgemm);
        var input = OnnxTestModels.RandomInput(4, model.InputSize, 1);
        var expected = model.Predict(input, 4);
        for (int opset = QatOnnxExportOptions.MinimumOpsetVersion; opset <= QatOnnxExportOptions.MaximumOpsetVersion; opset++)
        {
            using var stream = new MemoryStream();
            model.ExportToOnnx(stream, new QatOnnxExportOptions { OpsetVersion = opset, Form = QatOnnxForm.IntegerOperators });
            CollectionAssert.AreEqual(expected, OnnxRuntimeRunner.Run(stream.ToArray(), "input", input, 4, "output"), $"opset {opset}");
        }
    }

    [TestMethod]
    public void Export_LinearForms_GiveTheSameIntegers()
    {
        var model = OnnxTestModels.Mlp(QuantBackend.Fbgemm);
        var input = OnnxTestModels.RandomInput(Batch, model.InputSize, 9);
        var expected = model.Predict(input, Batch);
        foreach (var linear in Enum.GetValues<OnnxLinearForm>())
        {
            using var stream = new MemoryStream();
            model.ExportToOnnx(stream, new QatOnnxExportOptions { Form = QatOnnxForm.IntegerOperators, LinearForm = linear });
            CollectionAssert.AreEqual(expected, OnnxRuntimeRunner.Run(stream.ToArray(), "input", input, Batch, "output"), linear.ToString());
        }
    }

    internal static byte[] Export(QuantizedModel model, QatOnnxForm form)
    {
        using var stream = new MemoryStream();
        model.ExportToOnnx(stream, new QatOnnxExportOptions { Form = form });
        return stream.ToArray();
    }
}
