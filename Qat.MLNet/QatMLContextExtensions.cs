using Microsoft.ML;

namespace Qat.MLNet;

/// <summary>Extensions on <see cref="MLContext"/> that ML.NET 5 keeps internal but Qat users need.</summary>
public static class QatMLContextExtensions
{
    /// <summary>
    /// Asks every running operation of <paramref name="context"/> to stop: a Qat trainer's <c>Fit</c> ends after the current
    /// mini-batch with an <see cref="OperationCanceledException"/>, releasing its tensors. ML.NET 5 has this method but
    /// keeps it internal; this extension makes <c>mlContext.CancelExecution()</c> callable. Cancellation cannot be undone
    /// for that context: create a new <see cref="MLContext"/> to train again.
    /// </summary>
    /// <param name="context">The context to cancel.</param>
    public static void CancelExecution(this MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Resolves to MLContext's own (internal) CancelExecution: the library compiles against publicized ML.NET.
        context.CancelExecution();
    }

    /// <summary>
    /// A new experiment over quantization-aware training settings (ML.NET AutoML's <c>mlContext.Auto().CreateExperiment()</c>,
    /// for QAT), seeded 0 until <c>SetSeed</c>.
    /// </summary>
    /// <param name="context">The context that logs the experiment's progress.</param>
    public static Experiments.QatExperiment CreateQatExperiment(this MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Experiments.QatExperiment(context, seed: 0);
    }
}
