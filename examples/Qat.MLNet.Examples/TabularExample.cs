using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Examples;

/// <summary>
/// Tabular data (the "tabular" command): the Breast Cancer Wisconsin CSV that ships in examples/data, 30 numeric
/// columns -> Concatenate -> NormalizeMeanVariance -> the Qat binary trainer at its defaults (an MLP, trained
/// quantization-aware), scored in int8.
/// </summary>
internal static class TabularExample
{
    /// <summary>Trains on 80% of the rows, evaluates on the rest, saves to <paramref name="modelPath"/>.</summary>
    public static void Run(string modelPath)
    {
        string csv = TabularDataSet.Find("breast-cancer/wdbc.csv");
        var ml = new MLContext(seed: 0);
        string[] header = File.ReadLines(csv).First().Split(',');
        var columns = header.Take(30).Select((name, i) => new TextLoader.Column(name, DataKind.Single, i))
            .Append(new TextLoader.Column("diagnosis", DataKind.String, 30)).ToArray();
        var data = ml.Data.LoadFromTextFile(csv, columns, separatorChar: ',', hasHeader: true);
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.2, seed: 0);

        var pipeline = ml.Transforms.Concatenate("Features", header.Take(30).ToArray())
            .Append(ml.Transforms.NormalizeMeanVariance("Features"))
            .Append(ml.Transforms.Expression("Label", "d => d == \"malignant\"", "diagnosis"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.BinaryClassification.Trainers.Qat()); // the defaults: epochs from the data, early stopping on a held-out 20 %

        var model = pipeline.Fit(split.TrainSet);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(split.TestSet));
        Console.WriteLine(model.LastTransformer.TrainingReport);
        Console.WriteLine($"test set (int8 model): accuracy {metrics.Accuracy:P2}, AUC {metrics.AreaUnderRocCurve:F4}, F1 {metrics.F1Score:F4}");
        ml.Model.Save(model, data.Schema, modelPath);
        Console.WriteLine($"saved {Path.GetFullPath(modelPath)}");
    }
}
