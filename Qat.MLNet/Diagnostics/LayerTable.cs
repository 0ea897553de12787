using System.Globalization;
using System.Text;
using Qat.MLNet.Reports;

namespace Qat.MLNet.Diagnostics;

/// <summary>The per-layer table in Markdown, shared by <see cref="QuantizationAnalysis.ToMarkdown"/> and the training report folder.</summary>
internal static class LayerTable
{
    public static void AppendMarkdown(StringBuilder md, IEnumerable<LayerQuantizationReport> layers)
    {
        var c = CultureInfo.InvariantCulture;
        md.AppendLine("| layer | kind | SQNR dB | engine vs fake-quant steps (max / mean) | float range | grid | clipped | weight range | weight SQNR dB | outlier channels | metric with layer float |");
        md.AppendLine("| --- | --- | ---: | ---: | --- | --- | ---: | --- | ---: | ---: | ---: |");
        foreach (var l in layers)
        {
            md.AppendLine(c, $"| {l.Name} | {l.Kind} | {Decibels(l.SqnrDecibels)} | {l.MaxStepsFromFakeQuant} / {l.MeanStepsFromFakeQuant:F3} | [{l.FloatOutputMin:G4}, {l.FloatOutputMax:G4}] | " +
                $"[{l.GridMin:G4}, {l.GridMax:G4}] | {l.ClippedFraction:P2} | {(l.WeightMin is { } wmin ? string.Create(c, $"[{wmin:G4}, {l.WeightMax:G4}]") : "")} | " +
                $"{(l.WeightSqnrDecibels is { } w ? Decibels(w) : "")} | {(l.ChannelAbsMax.Count > 0 ? $"{l.OutlierChannels.Count} of {l.ChannelAbsMax.Count}" : "")} | " +
                $"{(l.MetricWithLayerFloat is { } m ? m.ToString("F4", c) + (l.MetricGainWhenFloat is { } g ? string.Create(c, $" ({g:+0.0000;-0.0000;0})") : "") : "")} |");
        }
    }

    /// <summary>dB with one decimal; "inf" when the noise is zero.</summary>
    public static string Decibels(double db) => double.IsPositiveInfinity(db) ? "inf" : db.ToString("F1", CultureInfo.InvariantCulture);
}
