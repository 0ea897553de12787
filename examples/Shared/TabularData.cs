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
/// <param name="RelativePath">Path under examples/data, or an absolute path (a data set a Debian package installs).</param>
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

    /// <summary>The label's column (0-based); null: the last one.</summary>
    public int? LabelColumn { get; init; }

    /// <summary>
    /// Rows that belong together (the same person) and must fall on the same side of a split: a column index, loaded as
    /// text into <c>Group</c> and kept out of the features, or -1 for "the same feature vector" (the <c>Features</c> column
    /// itself); null: rows are independent.
    /// </summary>
    public int? GroupColumn { get; init; }

    /// <summary>The column a split must keep together (<c>TrainTestSplit</c>'s samplingKeyColumnName), or null.</summary>
    public string? SplitKey => GroupColumn switch { null => null, -1 => "Features", _ => "Group" };

    /// <summary>Columns holding categories as numbers (a travel mode 1-4): one-hot encoded into the features, as a user would.</summary>
    public IReadOnlyList<int> CategoricalColumns { get; init; } = [];

    /// <summary>The field separator: ',' unless set.</summary>
    public char Separator { get; init; } = ',';

    /// <summary>
    /// Loads the file: every other column into the vector column <c>Features</c> (Single; the categorical ones one-hot, after
    /// the numbers), the label into <c>Label</c> (string for multiclass, Boolean for binary, Single for regression), the
    /// group column into <c>Group</c>. Lazy, as ML.NET's loaders are.
    /// </summary>
    public IDataView Load(MLContext ml, string? path = null)
    {
        path ??= FullPath;
        int columns = File.ReadLines(path).First().Split(Separator).Length;
        int label = LabelColumn ?? columns - 1;
        var numeric = Enumerable.Range(0, columns).Where(c => c != label && c != GroupColumn && !CategoricalColumns.Contains(c)).Select(c => new TextLoader.Range(c)).ToArray();
        var labelKind = Task == TabularTask.Regression ? DataKind.Single : DataKind.String;
        var loaded = new List<TextLoader.Column>
        {
            new(CategoricalColumns.Count > 0 ? "Numeric" : "Features", DataKind.Single, numeric),
            new(Task == TabularTask.Binary ? "LabelText" : "Label", labelKind, label),
        };
        if (GroupColumn is >= 0 and var group)
            loaded.Add(new TextLoader.Column("Group", DataKind.String, group)); // text: TrainTestSplit hashes it with the seed (a number key would split the same way every seed)
        loaded.AddRange(CategoricalColumns.Select(c => new TextLoader.Column($"Category{c}", DataKind.String, c)));
        var data = ml.Data.LoadFromTextFile(path, loaded.ToArray(), separatorChar: Separator, hasHeader: true);
        if (CategoricalColumns.Count > 0)
        {
            var oneHot = ml.Transforms.Categorical.OneHotEncoding(CategoricalColumns.Select(c => new InputOutputColumnPair($"OneHot{c}", $"Category{c}")).ToArray())
                .Append(ml.Transforms.Concatenate("Features", CategoricalColumns.Select(c => $"OneHot{c}").Prepend("Numeric").ToArray()));
            data = oneHot.Fit(data).Transform(data);
        }
        if (Task != TabularTask.Binary)
            return data;
        string positive = PositiveLabel ?? throw new InvalidOperationException($"Binary data set '{Name}' needs a positive label.");
        return ml.Transforms.Expression("Label", $"t => t == \"{positive}\"", "LabelText").Fit(data).Transform(data);
    }

    /// <summary>The file: <see cref="RelativePath"/> if absolute, else found under examples/data (<see cref="Find"/>).</summary>
    public string FullPath => Path.IsPathRooted(RelativePath) ? RelativePath : Find(RelativePath);

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
