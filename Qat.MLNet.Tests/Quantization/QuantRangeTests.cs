using Qat.MLNet.Quantization;

namespace Qat.MLNet.Tests.Quantization;

[TestClass]
public sealed class QuantRangeTests
{
    [TestMethod]
    [DataRow(QuantDType.QUInt8, false, 0, 255)]
    [DataRow(QuantDType.QUInt8, true, 0, 127)]
    [DataRow(QuantDType.QInt8, false, -128, 127)]
    [DataRow(QuantDType.QInt8, true, -64, 63)]
    public void Calculate_Defaults_MatchPyTorch(QuantDType dtype, bool reduce, int min, int max)
        => Assert.AreEqual((min, max), QuantRange.Calculate(null, null, dtype, reduce));

    [TestMethod]
    [DataRow(QuantDType.QUInt8, 0, 255, true, 0, 127)]      // fbgemm activations
    [DataRow(QuantDType.QUInt8, 0, 127, false, 0, 127)]
    [DataRow(QuantDType.QInt8, -128, 127, false, -128, 127)]
    [DataRow(QuantDType.QInt8, -127, 127, false, -128, 126)] // PyTorch keeps only the length (255 levels)
    [DataRow(QuantDType.QInt8, -128, 127, true, -64, 63)]
    public void Calculate_CustomRange_KeepsOnlyTheLengthAsPyTorch(QuantDType dtype, int qmin, int qmax, bool reduce, int min, int max)
        => Assert.AreEqual((min, max), QuantRange.Calculate(qmin, qmax, dtype, reduce));

    [TestMethod]
    [DataRow(5, 3, "quantMin")]
    [DataRow(1, 255, "quantMin")]
    [DataRow(0, 256, "quantMax")]
    public void Calculate_BadCustomRange_ThrowsNamingTheArgument(int qmin, int qmax, string param)
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => QuantRange.Calculate(qmin, qmax, QuantDType.QUInt8, false));
        Assert.AreEqual(param, e.ParamName);
        StringAssert.Contains(e.Message, $"({(param == "quantMin" ? qmin : qmax)})");
    }

    [TestMethod]
    public void Calculate_OnlyOneEnd_Throws()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => QuantRange.Calculate(0, null, QuantDType.QUInt8, false));
        StringAssert.Contains(e.Message, "together");
    }

    [TestMethod]
    public void Calculate_QInt8BelowDtype_Throws()
        => Assert.ThrowsExactly<ArgumentException>(() => QuantRange.Calculate(-129, 127, QuantDType.QInt8, false));
}
