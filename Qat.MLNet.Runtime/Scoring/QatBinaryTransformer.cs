using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;

[assembly: LoadableClass(typeof(Qat.MLNet.Scoring.QatBinaryTransformer), null, typeof(SignatureLoadModel), "Qat Binary Transformer", Qat.MLNet.Scoring.QatBinaryTransformer.LoaderSignature)]

namespace Qat.MLNet.Scoring;

/// <summary>
/// The result of <c>QatBinaryTrainer</c> (Qat.MLNet): scores rows for binary classification with the int8 model. Adds <c>Score</c> (the logit), <c>Probability</c> (its sigmoid) and <c>PredictedLabel</c> (Boolean).
/// Saved and loaded by <c>mlContext.Model.Save</c>/<c>Load</c> like any ML.NET transformer.
/// </summary>
public sealed class QatBinaryTransformer : QatTransformerBase
{
    internal const string LoaderSignature = "QatBinaryTransformer";

    internal QatBinaryTransformer(QuantizedModel model, string featureColumnName, BinaryScoringTask task, QatTrainingReport? report, ScoringSettings settings)
        : base(model, featureColumnName, report, settings)
    {
        Task = task;
    }

    private protected override ScoringTask Task { get; }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    internal static VersionInfo GetVersionInfo() => new(
        modelSignature: "QATBNTRN",
        verWrittenCur: 0x00010001, // initial
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(QatBinaryTransformer).Assembly.FullName);

    /// <summary>Called by ML.NET's model loader (the [LoadableClass] above) when a model file is loaded.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("CodeQuality", "IDE0051:Remove unused private members", Justification = "ML.NET calls the loader of a [LoadableClass] through reflection.")]
    private static QatBinaryTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        var (feature, task, model, report, settings) = LoadCommon(env, ctx, GetVersionInfo(), _ => BinaryScoringTask.Instance);
        return new QatBinaryTransformer(model, feature, task, report, settings);
    }
}
