using static TorchSharp.torch;

namespace Qat.MLNet.Tests;

/// <summary>TorchSharp's native library loads and computes (the GLIBCXX patch of the build works).</summary>
[TestClass]
public sealed class TorchSharpSmokeTests
{
    [TestMethod]
    public void TensorAdd_OnCpu_ComputesTheSum()
    {
        using var a = tensor(new float[] { 1f, 2f, 3f });
        using var b = tensor(new float[] { 10f, 20f, 30f });
        using var c = a + b;
        CollectionAssert.AreEqual(new float[] { 11f, 22f, 33f }, c.data<float>().ToArray());
    }
}
