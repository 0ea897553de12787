using System.Globalization;
using System.Text;
using Qat.MLNet.Diagnostics;
using Qat.MLNet.Experiments;
using Qat.MLNet.Internal;

namespace Qat.MLNet.Reports;

/// <summary>
/// Writes a training run's or an experiment's report folder: Markdown and JSON, and PNG plots drawn with ScottPlot in an
/// embedded font (so they read the same on a headless machine). The folder is created if missing; each file is written
/// to a temporary file and renamed into place, so a failed write leaves the previous file (and no half file).
/// </summary>
public static class QatReportFolder
{
    /// <summary>Plot size in pixels.</summary>
    private const int Width = 800, Height = 450;

    /// <summary>
    /// Writes <c>report.md</c>, <c>report.json</c> (<see cref="QatTrainingReport.ToJson"/>), <c>loss.png</c> (training and
    /// validation loss per epoch, the QAT phase marked), <c>accuracy.png</c> (classification), <c>sqnr.png</c> (per-layer
    /// SQNR, when the report has the analysis) and <c>weights-LAYER.png</c> per int8 weighted layer (the weights' histogram
    /// over the int8 levels of their channel's step).
    /// </summary>
    /// <param name="folder">The folder to write into.</param>
    /// <param name="report">The report (a Qat transformer's <c>TrainingReport</c>).</param>
    /// <returns>The paths written.</returns>
    /// <exception cref="IOException">A file cannot be written; files already there keep their previous content.</exception>
    public static IReadOnlyList<string> Write(string folder, QatTrainingReport report)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        var images = new List<(string File, string Caption)>();
        void Png(string file, string caption, byte[] png)
        {
            written.Add(Save(folder, file, png));
            images.Add((file, caption));
        }

        Png("loss.png", "Loss per epoch", ReportPlots.Loss(report).GetImage(Width, Height).GetImageBytes());
        if (report.Epochs.Any(e => e.Training.Accuracy is not null))
            Png("accuracy.png", "Accuracy per epoch", ReportPlots.Accuracy(report).GetImage(Width, Height).GetImageBytes());
        if (report.Layers.Count > 0)
            Png("sqnr.png", "SQNR of each layer's fake-quant output against float", ReportPlots.Sqnr(report.Layers).GetImage(Width, Height).GetImageBytes());
        foreach (var layer in report.Layers.Where(l => l.WeightLevelCounts.Count > 0))
            Png($"weights-{FileSafe(layer.Name)}.png", $"Weights of {layer.Name} on the int8 grid", ReportPlots.WeightLevels(layer).GetImage(Width, Height).GetImageBytes());

        written.Add(Save(folder, "report.json", Encoding.UTF8.GetBytes(report.ToJson())));
        written.Add(Save(folder, "report.md", Encoding.UTF8.GetBytes(Markdown(report, images))));
        return written;
    }

    /// <summary>
    /// Writes <c>experiment.md</c>, <c>experiment.json</c>, <c>trials.csv</c> (<see cref="QatExperimentResult"/>'s own
    /// forms) and <c>pareto.png</c> (metric against model size and batch-1 latency, the Pareto front marked).
    /// </summary>
    /// <param name="folder">The folder to write into.</param>
    /// <param name="result">The experiment's result.</param>
    /// <returns>The paths written.</returns>
    /// <exception cref="IOException">A file cannot be written; files already there keep their previous content.</exception>
    public static IReadOnlyList<string> Write(string folder, QatExperimentResult result)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(folder);
        var written = new List<string>
        {
            Save(folder, "pareto.png", ReportPlots.Pareto(result).GetImage(Width * 3 / 2, Height).GetImageBytes()),
            Save(folder, "trials.csv", Encoding.UTF8.GetBytes(result.ToCsv())),
            Save(folder, "experiment.json", Encoding.UTF8.GetBytes(result.ToJson())),
        };
        var md = new StringBuilder(result.ToMarkdown()).AppendLine().AppendLine("![Metric against size and latency](pareto.png)");
        written.Add(Save(folder, "experiment.md", Encoding.UTF8.GetBytes(md.ToString())));
        return written;
    }

    /// <summary>Creates <paramref name="folder"/> if needed and checks a file can be written in it, so a bad path fails before a long training.</summary>
    /// <exception cref="ArgumentException">The folder cannot be created or written to; the message names it and why.</exception>
    internal static void EnsureWritable(string folder, string optionName)
    {
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, $".qat-write-check-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{optionName} '{folder}' cannot hold the report: {e.Message} Give a folder that can be created and written to, or null for no report.", optionName, e);
        }
    }

    private static string Markdown(QatTrainingReport r, List<(string File, string Caption)> images)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# Qat training report: {r.Task}").AppendLine();
        md.AppendLine(c, $"Network {r.Network}, qconfig {r.QConfig}, {r.TrainingRows} training rows ({r.HeldOutRows} held out), {r.TotalSeconds:F1} s.").AppendLine();
        md.AppendLine(c, $"| on the {r.EvaluatedOn} | loss | accuracy |").AppendLine("| --- | ---: | ---: |");
        foreach (var (name, m) in new[] { ("float", r.Float), ("fake-quant", r.FakeQuantized), ("int8", r.Int8) })
            md.AppendLine(c, $"| {name} | {m.Loss:F4} | {(m.Accuracy is { } a ? a.ToString("P2", c) : "")} |");
        md.AppendLine();
        md.AppendLine(c, $"Parameters: float {r.FloatModelBytes:N0} bytes, int8 {r.Int8ModelBytes:N0} bytes ({r.CompressionRatio:F2}x smaller). ");
        md.AppendLine(c, $"Latency per row (batch 1): float {r.FloatMicrosecondsPerRow:F1} us, int8 {r.Int8MicrosecondsPerRow:F1} us.").AppendLine();
        if (r.FloatLayers.Count > 0)
            md.AppendLine(c, $"Kept in float: {string.Join(", ", r.FloatLayers)} ({r.FloatLayersReason}).").AppendLine();
        foreach (var phase in r.Phases)
            md.AppendLine(c, $"- {phase}");
        md.AppendLine();
        md.AppendLine("| epoch | phase | learning rate | train loss | train accuracy | validation loss | validation accuracy | seconds |");
        md.AppendLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var e in r.Epochs)
        {
            md.AppendLine(c, $"| {e.Epoch} | {(e.Phase == QatTrainingPhase.Float ? "float" : "QAT")} | {e.LearningRate:G4} | {e.Training.Loss:F4} | {Percent(e.Training.Accuracy)} | " +
                $"{(e.Validation is { } v ? v.Loss.ToString("F4", c) : "")} | {Percent(e.Validation?.Accuracy)} | {e.Seconds:F1} |");
        }
        if (r.Layers.Count > 0)
        {
            md.AppendLine().AppendLine("## Layers").AppendLine();
            LayerTable.AppendMarkdown(md, r.Layers);
        }
        md.AppendLine().AppendLine("## Plots").AppendLine();
        foreach (var (file, caption) in images)
            md.AppendLine(c, $"![{caption}]({file})").AppendLine();
        return md.ToString();
    }

    private static string Percent(double? value) => value is { } v ? v.ToString("P2", CultureInfo.InvariantCulture) : "";

    private static string FileSafe(string name) => new(name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '_').ToArray());

    private static string Save(string folder, string file, byte[] bytes)
    {
        string path = Path.Combine(folder, file);
        AtomicFile.Write(path, stream => stream.Write(bytes));
        return path;
    }
}
