using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.Onnx;

namespace Qat.MLNet.Tests.Inference;

/// <summary>Predict on several threads gives the one-thread outputs, for every batch size around the split points.</summary>
[TestClass]
[DoNotParallelize] // the test networks seed TorchSharp's global generator
public sealed class QuantizedModelThreadsTests
{
    [TestMethod]
    public void Predict_OnSeveralThreads_GivesTheOneThreadOutputs()
    {
        foreach (var model in new[] { OnnxTestModels.Mlp(QuantBackend.Fbgemm), OnnxTestModels.Cnn(QuantBackend.Qnnpack) })
        {
            foreach (int batch in new[] { 1, 31, 32, 33, 64, 100, 257 })
            {
                var input = OnnxTestModels.RandomInput(batch, model.InputSize, batch);
                var expected = model.Predict(input, batch);
                foreach (int threads in new[] { 1, 2, 3, 8 })
                {
                    var actual = new float[expected.Length];
                    model.Predict(input, actual, batch, threads);
                    CollectionAssert.AreEqual(expected, actual, $"batch {batch}, {threads} threads");
                }
            }
        }
    }

    [TestMethod]
    public void Predict_BadThreadCountOrRow_IsRefusedAsOnOneThread()
    {
        var model = OnnxTestModels.Mlp(QuantBackend.Fbgemm);
        var input = OnnxTestModels.RandomInput(64, model.InputSize, 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict(input, new float[64 * model.OutputSize], 64, 0));
        StringAssert.Contains(e.Message, "degreeOfParallelism");
        input[40 * model.InputSize + 3] = float.NaN;
        var f = Assert.Throws<ArgumentException>(() => model.Predict(input, new float[64 * model.OutputSize], 64, 4));
        StringAssert.Contains(f.Message, "sample 40, value 3");
    }
}
