using SkiaSharp;

namespace Qat.MLNet.Reports;

/// <summary>
/// The font the report plots draw their text with: DejaVu Sans, embedded in this assembly (licence in
/// Reports/Fonts/LICENSE-DejaVuSans.txt). ScottPlot embeds no font, and a headless Linux machine without fontconfig fonts
/// would draw every label as boxes; registering this one resolver makes the plots readable on every machine.
/// </summary>
internal static class PlotFont
{
    /// <summary>The family name the plots ask for.</summary>
    public const string Name = "DejaVu Sans (Qat.MLNet)";

    private static readonly Lazy<byte[]> FontBytes = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<bool> Registration = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Registers the font with ScottPlot once per process and returns its family name.</summary>
    public static string Use()
    {
        _ = Registration.Value;
        return Name;
    }

    private static bool Register()
    {
        ScottPlot.Fonts.FontResolvers.Insert(0, new Resolver());
        ScottPlot.Fonts.Default = Name;
        return true;
    }

    private static byte[] Load()
    {
        using var stream = typeof(PlotFont).Assembly.GetManifestResourceStream("Qat.MLNet.Reports.Fonts.DejaVuSans.ttf")
            ?? throw new InvalidOperationException("The report font (DejaVuSans.ttf) is missing from the Qat.MLNet assembly's resources.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A new typeface per request: ScottPlot owns (and may dispose) what a resolver returns.</summary>
    private static SKTypeface Create()
    {
        using var data = SKData.CreateCopy(FontBytes.Value);
        return SKTypeface.FromData(data) ?? throw new InvalidOperationException("The embedded report font could not be read.");
    }

    /// <summary>Answers <see cref="Name"/> (any weight or slant: one face serves all) and nothing else.</summary>
    private sealed class Resolver : ScottPlot.IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, ScottPlot.FontWeight weight, ScottPlot.FontSlant slant, ScottPlot.FontSpacing spacing) =>
            fontName == Name ? Create() : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) => fontName == Name ? Create() : null;
    }
}
