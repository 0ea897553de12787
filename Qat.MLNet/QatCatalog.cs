using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Qat.MLNet.Quantization;
using Qat.MLNet.Trainers;

namespace Qat.MLNet;

/// <summary>
/// Catalog extension methods that create the Qat trainers:
/// <c>mlContext.MulticlassClassification.Trainers.Qat(...)</c>, <c>mlContext.BinaryClassification.Trainers.Qat(...)</c>
/// and <c>mlContext.Regression.Trainers.Qat(...)</c>. Each has a simple overload and one that takes an Options object.
/// </summary>
public static class QatCatalog
{
    /// <summary>Creates a <see cref="QatMulticlassTrainer"/>: quantization-aware training of a neural network, scored in int8.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">The label column: a key (use <c>MapValueToKey</c>).</param>
    /// <param name="featureColumnName">The feature column: a known-size vector of Single.</param>
    /// <param name="network">The network; null gives an MLP with hidden sizes 128 and 64.</param>
    /// <param name="backend">The default QAT qconfig to use: fbgemm (per-channel weights) or qnnpack (per-tensor).</param>
    /// <param name="numberOfEpochs">Quantization-aware epochs, run exactly; null (the default) chooses the float and QAT epochs from the data (see <see cref="QatTrainerOptions"/>).</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    /// <param name="learningRate">Adam's learning rate.</param>
    /// <exception cref="ArgumentException">An argument breaks its rule; the message names it.</exception>
    public static QatMulticlassTrainer Qat(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = QatDefaults.LabelColumnName, string featureColumnName = QatDefaults.FeatureColumnName, QatNetwork? network = null,
        QuantBackend backend = QatDefaults.Backend, int? numberOfEpochs = null, int batchSize = QatDefaults.BatchSize,
        double learningRate = QatDefaults.LearningRate)
    {
        var options = Simple(new QatMulticlassTrainer.Options(), labelColumnName, featureColumnName, network, backend, numberOfEpochs, batchSize, learningRate);
        return new QatMulticlassTrainer(Environment(catalog), options);
    }

    /// <summary>Creates a <see cref="QatMulticlassTrainer"/> with all options.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">The options (copied: later changes do not affect the trainer).</param>
    /// <exception cref="ArgumentException">An option breaks its rule; the message names it.</exception>
    public static QatMulticlassTrainer Qat(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, QatMulticlassTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new QatMulticlassTrainer(Environment(catalog), options);
    }

    /// <summary>Creates a <see cref="QatBinaryTrainer"/>: quantization-aware training of a neural network, scored in int8.</summary>
    /// <param name="catalog">The binary trainers catalog.</param>
    /// <param name="labelColumnName">The label column: Boolean.</param>
    /// <param name="featureColumnName">The feature column: a known-size vector of Single.</param>
    /// <param name="network">The network; null gives an MLP with hidden sizes 128 and 64.</param>
    /// <param name="backend">The default QAT qconfig to use: fbgemm (per-channel weights) or qnnpack (per-tensor).</param>
    /// <param name="numberOfEpochs">Quantization-aware epochs, run exactly; null (the default) chooses the float and QAT epochs from the data (see <see cref="QatTrainerOptions"/>).</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    /// <param name="learningRate">Adam's learning rate.</param>
    /// <exception cref="ArgumentException">An argument breaks its rule; the message names it.</exception>
    public static QatBinaryTrainer Qat(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = QatDefaults.LabelColumnName, string featureColumnName = QatDefaults.FeatureColumnName, QatNetwork? network = null,
        QuantBackend backend = QatDefaults.Backend, int? numberOfEpochs = null, int batchSize = QatDefaults.BatchSize,
        double learningRate = QatDefaults.LearningRate)
    {
        var options = Simple(new QatBinaryTrainer.Options(), labelColumnName, featureColumnName, network, backend, numberOfEpochs, batchSize, learningRate);
        return new QatBinaryTrainer(Environment(catalog), options);
    }

    /// <summary>Creates a <see cref="QatBinaryTrainer"/> with all options.</summary>
    /// <param name="catalog">The binary trainers catalog.</param>
    /// <param name="options">The options (copied: later changes do not affect the trainer).</param>
    /// <exception cref="ArgumentException">An option breaks its rule; the message names it.</exception>
    public static QatBinaryTrainer Qat(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, QatBinaryTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new QatBinaryTrainer(Environment(catalog), options);
    }

    /// <summary>Creates a <see cref="QatRegressionTrainer"/>: quantization-aware training of a neural network, scored in int8.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">The label column: Single.</param>
    /// <param name="featureColumnName">The feature column: a known-size vector of Single.</param>
    /// <param name="network">The network; null gives an MLP with hidden sizes 128 and 64.</param>
    /// <param name="backend">The default QAT qconfig to use: fbgemm (per-channel weights) or qnnpack (per-tensor).</param>
    /// <param name="numberOfEpochs">Quantization-aware epochs, run exactly; null (the default) chooses the float and QAT epochs from the data (see <see cref="QatTrainerOptions"/>).</param>
    /// <param name="batchSize">Rows per mini-batch.</param>
    /// <param name="learningRate">Adam's learning rate.</param>
    /// <exception cref="ArgumentException">An argument breaks its rule; the message names it.</exception>
    public static QatRegressionTrainer Qat(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = QatDefaults.LabelColumnName, string featureColumnName = QatDefaults.FeatureColumnName, QatNetwork? network = null,
        QuantBackend backend = QatDefaults.Backend, int? numberOfEpochs = null, int batchSize = QatDefaults.BatchSize,
        double learningRate = QatDefaults.LearningRate)
    {
        var options = Simple(new QatRegressionTrainer.Options(), labelColumnName, featureColumnName, network, backend, numberOfEpochs, batchSize, learningRate);
        return new QatRegressionTrainer(Environment(catalog), options);
    }

    /// <summary>Creates a <see cref="QatRegressionTrainer"/> with all options.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="options">The options (copied: later changes do not affect the trainer).</param>
    /// <exception cref="ArgumentException">An option breaks its rule; the message names it.</exception>
    public static QatRegressionTrainer Qat(this RegressionCatalog.RegressionTrainers catalog, QatRegressionTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new QatRegressionTrainer(Environment(catalog), options);
    }

    private static TOptions Simple<TOptions>(TOptions options, string labelColumnName, string featureColumnName, QatNetwork? network,
        QuantBackend backend, int? numberOfEpochs, int batchSize, double learningRate) where TOptions : QatTrainerOptions
    {
        options.LabelColumnName = labelColumnName;
        options.FeatureColumnName = featureColumnName;
        options.Network = network ?? options.Network;
        options.Backend = backend;
        options.NumberOfEpochs = numberOfEpochs;
        options.BatchSize = batchSize;
        options.LearningRate = learningRate;
        return options;
    }

    // The catalogs keep their MLContext behind ML.NET's internal IInternalCatalog (reachable here, see AssemblyAccess.cs).
    private static IHostEnvironment Environment(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return ((IInternalCatalog)catalog).Environment;
    }
}
