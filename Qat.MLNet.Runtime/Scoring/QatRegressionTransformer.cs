using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;

[assembly: LoadableClass(typeof(Qat.MLNet.Scoring.QatRegressionTransformer), null, typeof(SignatureLoadModel), "Qat Regression Transformer", Qat.MLNet.Scoring.QatRegressionTransformer.LoaderSignature)]

namespace Qat.MLNet.Scoring;

/// <summary>
/// The result of <c>QatRegressionTrainer</c> (Qat.MLNet): scores rows for regression with the int8 model. Adds <c>Score</c>.
/// Saved and loaded by <c>mlContext.Model.Save</c>/<c>Load</c> like any ML.NET transformer.
/// </summary>
public sealed class QatRegressionTransformer : QatTransformerBase
{
    internal const string LoaderSignature = "QatRegressionTransformer";

    internal QatRegressionTransformer(QuantizedModel model, string featureColumnName, RegressionScoringTask task, QatTrainingReport? report, ScoringSettings settings)
        : base(model, featureColumnName, report, settings)
    {
        Task = task;
    }

    private protected override ScoringTask Task { get; }

    private protected override VersionInfo VersionInfo => GetVersionInfo();

    internal static VersionInfo GetVersionInfo() => new(
        modelSignature: "QATRGTRN",
        verWrittenCur: 0x00010002, // 0x00010001 initial; 0x00010002 adds the label mapping (shift, scale)
        verReadableCur: 0x00010002,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(QatRegressionTransformer).Assembly.FullName);

    /// <summary>Called by ML.NET's model loader (the [LoadableClass] above) when a model file is loaded.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("CodeQuality", "IDE0051:Remove unused private members", Justification = "ML.NET calls the loader of a [LoadableClass] through reflection.")]
    private static QatRegressionTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        var (feature, task, model, report, settings) = LoadCommon(env, ctx, GetVersionInfo(), reader => RegressionScoringTask.Load(reader, ctx.Header.ModelVerWritten >= 0x00010002));
        return new QatRegressionTransformer(model, feature, task, report, settings);
    }
}
