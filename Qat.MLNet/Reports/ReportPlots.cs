using Qat.MLNet.Experiments;
using ScottPlot;

namespace Qat.MLNet.Reports;

/// <summary>The report folder's plots, each a ScottPlot <see cref="Plot"/> in the embedded font (<see cref="PlotFont"/>).</summary>
internal static class ReportPlots
{
    /// <summary>Training and validation loss per epoch; a vertical line where QAT begins.</summary>
    public static Plot Loss(QatTrainingReport r)
    {
        var plot = New("Loss per epoch" + MemberNote(r), "epoch", "loss");
        var shown = Plotted(r);
        var epochs = shown.Select(e => (double)e.Epoch).ToArray();
        Line(plot, epochs, shown.Select(e => e.Training.Loss).ToArray(), "training (as trained)");
        if (shown.Any(e => e.Validation is not null))
            Line(plot, epochs, shown.Select(e => e.Validation?.Loss ?? double.NaN).ToArray(), "validation");
        MarkQat(plot, shown);
        return plot;
    }

    /// <summary>Training and validation accuracy per epoch (classification).</summary>
    public static Plot Accuracy(QatTrainingReport r)
    {
        var plot = New("Accuracy per epoch" + MemberNote(r), "epoch", "accuracy");
        var shown = Plotted(r);
        var epochs = shown.Select(e => (double)e.Epoch).ToArray();
        Line(plot, epochs, shown.Select(e => e.Training.Accuracy ?? double.NaN).ToArray(), "training (as trained)");
        if (shown.Any(e => e.Validation?.Accuracy is not null))
            Line(plot, epochs, shown.Select(e => e.Validation?.Accuracy ?? double.NaN).ToArray(), "validation");
        MarkQat(plot, shown);
        return plot;
    }

    /// <summary>Bars of each layer's SQNR (infinite ones drawn at the top of the finite range and labelled).</summary>
    public static Plot Sqnr(IReadOnlyList<LayerQuantizationReport> layers)
    {
        var plot = New("SQNR of each layer's fake-quant output against float", "", "SQNR (dB)");
        var finite = layers.Select(l => l.SqnrDecibels).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        var bars = layers.Select((l, i) => new Bar
        {
            Position = i,
            Value = double.IsFinite(l.SqnrDecibels) ? l.SqnrDecibels : finite + 10,
            Label = double.IsFinite(l.SqnrDecibels) ? l.SqnrDecibels.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "inf",
            FillColor = l.IsFloat ? Colors.Gray : Colors.SteelBlue,
        }).ToList();
        plot.Add.Bars(bars).ValueLabelStyle.FontName = PlotFont.Name;
        plot.Axes.Bottom.SetTicks(layers.Select((_, i) => (double)i).ToArray(), layers.Select(l => l.Name).ToArray());
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    /// <summary>How many weights fall on each int8 level, with the ends of the grid marked.</summary>
    public static Plot WeightLevels(LayerQuantizationReport layer)
    {
        var plot = New($"Weights of {layer.Name} on the int8 grid", "int8 level (weight / step of its channel)", "weights");
        var counts = layer.WeightLevelCounts;
        var bars = counts.Select((n, i) => new Bar { Position = i - 128, Value = n, Size = 1, FillColor = Colors.SteelBlue, LineWidth = 0 }).ToList();
        plot.Add.Bars(bars);
        foreach (double end in new[] { -128.0, 127.0 })
        {
            var line = plot.Add.VerticalLine(end);
            line.Color = Colors.Red;
            line.LinePattern = LinePattern.Dashed;
        }
        int used = counts.Count(n => n > 0);
        plot.Add.Annotation($"{used} of 256 levels used", Alignment.UpperRight).LabelFontName = PlotFont.Name;
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    /// <summary>Metric against model bytes and against batch-1 latency, completed trials; the Pareto front in red.</summary>
    public static Plot Pareto(QatExperimentResult result)
    {
        var plot = New($"{result.MetricName} against model size (left) and latency (right)", "model bytes", result.MetricName);
        var done = result.Trials.Where(t => t.Status == QatTrialStatus.Completed && double.IsFinite(t.Metric)).ToList();
        var front = result.ParetoFront.Select(t => t.Id).ToHashSet();
        Points(plot, done.Where(t => !front.Contains(t.Id)), t => t.ModelBytes, Colors.SteelBlue, "trials", plot.Axes.Bottom);
        Points(plot, done.Where(t => front.Contains(t.Id)), t => t.ModelBytes, Colors.Red, "Pareto front", plot.Axes.Bottom);
        var latency = plot.Axes.AddTopAxis();
        latency.LabelText = "batch-1 latency (us), hollow markers";
        latency.LabelFontName = PlotFont.Name;
        var hollow = plot.Add.ScatterPoints(done.Select(t => t.LatencyMicroseconds).ToArray(), done.Select(t => t.Metric).ToArray());
        hollow.MarkerShape = MarkerShape.OpenCircle;
        hollow.Color = Colors.DarkGreen;
        hollow.Axes.XAxis = latency;
        hollow.LegendText = "latency";
        plot.ShowLegend();
        return plot;
    }

    private static void Points(Plot plot, IEnumerable<QatTrialResult> trials, Func<QatTrialResult, double> x, Color color, string legend, IXAxis axis)
    {
        var list = trials.ToList();
        if (list.Count == 0)
            return;
        var points = plot.Add.ScatterPoints(list.Select(x).ToArray(), list.Select(t => t.Metric).ToArray());
        points.Color = color;
        points.MarkerSize = 8;
        points.LegendText = legend;
        points.Axes.XAxis = axis;
    }

    private static Plot New(string title, string x, string y)
    {
        string font = PlotFont.Use();
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        plot.Font.Set(font);
        plot.Legend.FontName = font;
        return plot;
    }

    private static void Line(Plot plot, double[] xs, double[] ys, string legend)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = legend;
        line.MarkerSize = 4;
        plot.ShowLegend(Alignment.UpperRight);
    }

    /// <summary>The epochs a plot draws: all of a single network's, the first member's of an ensemble (each member counts from 1).</summary>
    private static IReadOnlyList<QatEpochReport> Plotted(QatTrainingReport r) => r.Epochs.Where(e => e.Member is null or 1).ToList();

    private static string MemberNote(QatTrainingReport r) => r.EnsembleSize > 1 ? $" (member 1 of {r.EnsembleSize})" : "";

    private static void MarkQat(Plot plot, IReadOnlyList<QatEpochReport> epochs)
    {
        var first = epochs.FirstOrDefault(e => e.Phase == QatTrainingPhase.QuantizationAware);
        if (first is null || first.Epoch == epochs[0].Epoch)
            return;
        var line = plot.Add.VerticalLine(first.Epoch - 0.5);
        line.Color = Colors.Gray;
        line.LinePattern = LinePattern.Dashed;
        line.Text = "QAT begins";
        line.LabelFontName = PlotFont.Name;
    }
}
