using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Examples;

/// <summary>The machine-learning task of a tabular data set.</summary>
public enum TabularTask
{
    /// <summary>A string label with several values (map it to a key before a multiclass trainer).</summary>
    Multiclass,

    /// <summary>A Boolean label.</summary>
    Binary,

    /// <summary>A Single label.</summary>
    Regression,
}

/// <summary>One small public data set of examples/data: where it is, its task, how its label reads.</summary>
/// <param name="Name">Short name, e.g. "wine".</param>
/// <param name="RelativePath">Path under examples/data.</param>
/// <param name="Task">The task.</param>
/// <param name="PositiveLabel">For binary sets, the label text that means true.</param>
public sealed record TabularDataSet(string Name, string RelativePath, TabularTask Task, string? PositiveLabel = null)
{
    /// <summary>The data sets that ship in examples/data (see examples/data/tabular/README.md).</summary>
    public static IReadOnlyList<TabularDataSet> Shipped { get; } =
    [
        new("iris", "tabular/iris.csv", TabularTask.Multiclass),
        new("wine", "tabular/wine.csv", TabularTask.Multiclass),
        new("digits", "tabular/digits.csv", TabularTask.Multiclass),
        new("breast-cancer", "breast-cancer/wdbc.csv", TabularTask.Binary, "malignant"),
        new("anes96", "tabular/anes96.csv", TabularTask.Binary, "1"),
        new("diabetes", "tabular/diabetes.csv", TabularTask.Regression),
    ];

    /// <summary>
    /// Loads the file: every column but the last into the vector column <c>Features</c> (Single), the last into
    /// <c>Label</c> (string for multiclass, Boolean for binary, Single for regression). Lazy, as ML.NET's loaders are.
    /// </summary>
    public IDataView Load(MLContext ml, string? path = null)
    {
        path ??= Find(RelativePath);
        int features = File.ReadLines(path).First().Split(',').Length - 1;
        var labelKind = Task == TabularTask.Regression ? DataKind.Single : DataKind.String;
        var data = ml.Data.LoadFromTextFile(path, new[]
        {
            new TextLoader.Column("Features", DataKind.Single, 0, features - 1),
            new TextLoader.Column(Task == TabularTask.Binary ? "LabelText" : "Label", labelKind, features),
        }, separatorChar: ',', hasHeader: true);
        if (Task != TabularTask.Binary)
            return data;
        string positive = PositiveLabel ?? throw new InvalidOperationException($"Binary data set '{Name}' needs a positive label.");
        return ml.Transforms.Expression("Label", $"t => t == \"{positive}\"", "LabelText").Fit(data).Transform(data);
    }

    /// <summary>A file under examples/data, found from the build output folder upwards.</summary>
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "examples", "data", relativePath);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"examples/data/{relativePath} was not found above {AppContext.BaseDirectory}.");
    }
}
