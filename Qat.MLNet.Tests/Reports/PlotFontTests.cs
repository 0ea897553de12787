using Qat.MLNet.Reports;

namespace Qat.MLNet.Tests.Reports;

/// <summary>The report plots draw text with the font embedded in Qat.MLNet, not with whatever the machine has.</summary>
[TestClass]
public sealed class PlotFontTests
{
    [TestMethod]
    public void Use_RegistersTheEmbeddedDejaVuSans_AsScottPlotsDefault()
    {
        string name = PlotFont.Use();
        Assert.AreEqual(name, ScottPlot.Fonts.Default);
        // Not disposed: ScottPlot caches the typefaces it hands out, and later plots draw with this one.
        var typeface = ScottPlot.Fonts.GetTypeface(name, bold: false, italic: false);
        Assert.AreEqual("DejaVu Sans", typeface.FamilyName);
        Assert.IsGreaterThan(1000, typeface.GlyphCount, "a real font, not a fallback with no glyphs");
    }
}
