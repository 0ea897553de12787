using Microsoft.ML;

namespace Qat.MLNet.Experiments;

/// <summary>Multiclass metrics an experiment can optimize.</summary>
public enum QatMulticlassMetric
{
    /// <summary>Macro-averaged accuracy (higher is better).</summary>
    MacroAccuracy,

    /// <summary>Micro-averaged accuracy (higher is better).</summary>
    MicroAccuracy,
}

/// <summary>Binary metrics an experiment can optimize.</summary>
public enum QatBinaryMetric
{
    /// <summary>Accuracy (higher is better).</summary>
    Accuracy,

    /// <summary>Area under the ROC curve (higher is better).</summary>
    AreaUnderRocCurve,

    /// <summary>F1 score (higher is better).</summary>
    F1Score,
}

/// <summary>Regression metrics an experiment can optimize.</summary>
public enum QatRegressionMetric
{
    /// <summary>R² (higher is better).</summary>
    RSquared,

    /// <summary>Mean absolute error (lower is better).</summary>
    MeanAbsoluteError,

    /// <summary>Root mean squared error (lower is better).</summary>
    RootMeanSquaredError,
}

/// <summary>What an experiment trains and how it scores a model: the task, its metric and the columns.</summary>
internal sealed class QatExperimentTask
{
    private QatExperimentTask(string name, string metricName, bool higherIsBetter, Func<MLContext, QatTrialSettings, IDataView?, int, long?, IEstimator<ITransformer>> trainer,
        Func<MLContext, IDataView, double> evaluate, string featureColumnName)
    {
        FeatureColumnName = featureColumnName;
        Name = name;
        MetricName = metricName;
        HigherIsBetter = higherIsBetter;
        Trainer = trainer;
        Evaluate = evaluate;
    }

    public string Name { get; }

    /// <summary>The feature column the trials train on.</summary>
    public string FeatureColumnName { get; }

    public string MetricName { get; }

    public bool HigherIsBetter { get; }

    /// <summary>
    /// The trainer for a trial: settings applied, the validation set for early stopping, the trial's seed and, with k folds,
    /// the rows of all the folded data, which decide the ensemble size when the settings leave it to the trainer.
    /// </summary>
    public Func<MLContext, QatTrialSettings, IDataView?, int, long?, IEstimator<ITransformer>> Trainer { get; }

    /// <summary>The metric of scored data.</summary>
    public Func<MLContext, IDataView, double> Evaluate { get; }

    public static QatExperimentTask Multiclass(QatMulticlassMetric metric, string label, string features) => new(
        "multiclass classification", metric.ToString(), true,
        (ml, s, validation, seed, refitRows) => ml.MulticlassClassification.Trainers.Qat(AsRefit(s.ApplyTo(new Trainers.QatMulticlassTrainer.Options
        {
            LabelColumnName = label, FeatureColumnName = features, ValidationSet = validation, Seed = seed, AnalyzeLayers = false, // a trial needs its metric, not a diagnosis
        }), refitRows)),
        (ml, scored) =>
        {
            var m = ml.MulticlassClassification.Evaluate(scored, label);
            return metric == QatMulticlassMetric.MacroAccuracy ? m.MacroAccuracy : m.MicroAccuracy;
        }, features);

    public static QatExperimentTask Binary(QatBinaryMetric metric, string label, string features) => new(
        "binary classification", metric.ToString(), true,
        (ml, s, validation, seed, refitRows) => ml.BinaryClassification.Trainers.Qat(AsRefit(s.ApplyTo(new Trainers.QatBinaryTrainer.Options
        {
            LabelColumnName = label, FeatureColumnName = features, ValidationSet = validation, Seed = seed, AnalyzeLayers = false, // a trial needs its metric, not a diagnosis
        }), refitRows)),
        (ml, scored) =>
        {
            var m = ml.BinaryClassification.Evaluate(scored, label);
            return metric switch { QatBinaryMetric.Accuracy => m.Accuracy, QatBinaryMetric.AreaUnderRocCurve => m.AreaUnderRocCurve, _ => m.F1Score };
        }, features);

    public static QatExperimentTask Regression(QatRegressionMetric metric, string label, string features) => new(
        "regression", metric.ToString(), metric == QatRegressionMetric.RSquared,
        (ml, s, validation, seed, refitRows) => ml.Regression.Trainers.Qat(AsRefit(s.ApplyTo(new Trainers.QatRegressionTrainer.Options
        {
            LabelColumnName = label, FeatureColumnName = features, ValidationSet = validation, Seed = seed, AnalyzeLayers = false, // a trial needs its metric, not a diagnosis
        }), refitRows)),
        (ml, scored) =>
        {
            var m = ml.Regression.Evaluate(scored, label);
            return metric switch { QatRegressionMetric.RSquared => m.RSquared, QatRegressionMetric.MeanAbsoluteError => m.MeanAbsoluteError, _ => m.RootMeanSquaredError };
        }, features);

    /// <summary>Fixes a null ensemble size to what a Fit on <paramref name="refitRows"/> rows would train (nothing to fix without them).</summary>
    private static TOptions AsRefit<TOptions>(TOptions options, long? refitRows) where TOptions : Trainers.QatTrainerOptions
    {
        if (refitRows is { } rows)
            options.EnsembleSize ??= options.ResolveEnsembleSize(rows);
        return options;
    }
}
