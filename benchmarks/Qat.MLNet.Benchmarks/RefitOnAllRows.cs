using Microsoft.ML;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// A probe for the defaults issue (<c>tabular --refit</c>): the trainer's defaults (early stopping on 20 % of the rows held
/// out), then the same settings trained again on every row for the epochs the first run kept, without a holdout. Tells
/// whether the 20 % held out costs small data sets more than early stopping buys them.
/// </summary>
internal sealed class RefitOnAllRows<TOptions> : IEstimator<ITransformer> where TOptions : QatTrainerOptions, new()
{
    private readonly Func<TOptions, IEstimator<ITransformer>> _trainer;

    public RefitOnAllRows(Func<TOptions, IEstimator<ITransformer>> trainer) => _trainer = trainer;

    public ITransformer Fit(IDataView input)
    {
        var first = (QatTransformerBase)_trainer(new TOptions { Seed = 11 }).Fit(input);
        var report = first.TrainingReport!;
        if (report.HeldOutRows == 0)
            return first; // nothing was held out: the first run trained on every row already
        int floatRun = report.Epochs.Count(e => e.Phase == QatTrainingPhase.Float);
        int floatKept = report.KeptFloatEpoch ?? floatRun;
        int qatKept = (report.KeptQatEpoch ?? report.Epochs.Count) - floatRun;
        var options = new TOptions { Seed = 11, NumberOfFloatEpochs = floatKept, NumberOfEpochs = Math.Max(1, qatKept), ValidationFraction = 0 };
        return _trainer(options).Fit(input);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => _trainer(new TOptions()).GetOutputSchema(inputSchema);
}
