using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;

[assembly: LoadableClass(typeof(Qat.MLNet.Scoring.QatMulticlassTransformer), null, typeof(SignatureLoadModel), "Qat Multiclass Transformer", Qat.MLNet.Scoring.QatMulticlassTransformer.LoaderSignature)]

namespace Qat.MLNet.Scoring;

/// <summary>
/// The result of <c>QatMulticlassTrainer</c> (Qat.MLNet): scores rows for multiclass classification with the int8 model. Adds <c>Score</c> (class probabilities, Vector&lt;Single, C&gt; with SlotNames) and <c>PredictedLabel</c> (a key with the training label's KeyValues, so <c>MapKeyToValue</c> works).
/// Saved and loaded by <c>mlContext.Model.Save</c>/<c>Load</c> like any ML.NET transformer.
/// </summary>
public sealed class QatMulticlassTransformer : QatTransformerBase
{
    internal const string LoaderSignature = "QatMulticlassTransformer";

    internal QatMulticlassTransformer(QuantizedModel model, string featureColumnName, MulticlassScoringTask task, QatTrainingReport? report, ScoringSettings settings)
        : base(model, featureColumnName, report, settings)
    {
        Task = task;
    }

    private protected override ScoringTask Task { get; }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    internal static VersionInfo GetVersionInfo() => new(
        modelSignature: "QATMCTRN",
        verWrittenCur: 0x00010001, // initial
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(QatMulticlassTransformer).Assembly.FullName);

    /// <summary>Called by ML.NET's model loader (the [LoadableClass] above) when a model file is loaded.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("CodeQuality", "IDE0051:Remove unused private members", Justification = "ML.NET calls the loader of a [LoadableClass] through reflection.")]
    private static QatMulticlassTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        var (feature, task, model, report, settings) = LoadCommon(env, ctx, GetVersionInfo(), MulticlassScoringTask.Load);
        return new QatMulticlassTransformer(model, feature, task, report, settings);
    }
}
