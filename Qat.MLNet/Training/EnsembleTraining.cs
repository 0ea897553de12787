using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;
using Qat.MLNet.Trainers;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// A Fit of several built-in MLPs (<see cref="QatTrainerOptions.EnsembleSize"/>): each member trains as a single Fit would,
/// with seed + its index and its own held-out rows, side by side on the machine's cores; their float weights are merged
/// into one wider MLP that averages them (<see cref="MlpEnsemble"/>), whose quantization parameters are observed on all
/// training rows before Convert.
/// </summary>
internal static class EnsembleTraining
{
    /// <summary>Trains <paramref name="members"/> networks and returns the merged int8 model and its report.</summary>
    /// <param name="host">The trainer's host.</param>
    /// <param name="channel">The Fit's channel (progress goes to MLContext.Log).</param>
    /// <param name="options">The trainer's options (EnsembleSize resolved to <paramref name="members"/>).</param>
    /// <param name="input">The training data.</param>
    /// <param name="first">The first member's checked data (seed <paramref name="seed"/>), already made by Fit.</param>
    /// <param name="createTask">Makes the task from the label column.</param>
    /// <param name="seed">The Fit's seed; member i uses seed + i.</param>
    /// <param name="members">How many networks, at least 2.</param>
    public static (QuantizedModel Model, QatTrainingReport Report) Run(IHost host, IChannel channel, QatTrainerOptions options, IDataView input,
        TrainingData first, Func<DataViewSchema.Column, TrainingTask> createTask, int seed, int members)
    {
        var clock = Stopwatch.StartNew();
        int[] hidden = options.Network.MlpHiddenSizes
            ?? throw new InvalidOperationException($"An ensemble needs the built-in MLP; the network is '{options.Network.Description}'.");
        // Members are independent Fits: they train side by side, up to one per core (or per NumberOfThreads), each with
        // its share of TorchSharp's threads. A member's result does not depend on what runs beside it (seeded data order,
        // initial weights drawn under QatTrainingSession.RandomLock), so the model is the one the members give one by one.
        int torchThreads = get_num_threads();
        int parallel = Math.Max(1, Math.Min(members, options.NumberOfThreads ?? Environment.ProcessorCount));
        var memberOptions = options.Copy();
        int waves = (members + parallel - 1) / parallel; // members that run one after another on a core
        memberOptions.MaximumTrainingTimeInSeconds = options.MaximumTrainingTimeInSeconds / waves;
        var results = new (MlpEnsemble.Member Member, IReadOnlyList<QatEpochReport> Epochs, IReadOnlyList<string> Phases)[members];
        var gate = new object();
        var reading = new object();
        void TrainMember(int m)
        {
            int memberSeed = unchecked(seed + m);
            // One member reads the input at a time (a user's IDataView need not take concurrent cursors), and only when it
            // starts: no more members' copies of the rows are alive than members train at once.
            TrainingData data;
            if (m == 0)
                data = first;
            else
            {
                lock (reading)
                    data = TrainingData.Check(host, input, memberOptions, createTask, memberSeed);
            }
            var memberChannel = parallel > 1 ? new MemberChannel(channel, gate, FormattableString.Invariant($"[member {m + 1} of {members}] ")) : channel;
            memberChannel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat ensemble member {m + 1} of {members}: seed {memberSeed}, validation: {data.ValidationDescription}."));
            using var scope = NewDisposeScope();
            var session = new QatTrainingSession(host, memberChannel, memberOptions, data.Task, data, memberSeed);
            var network = session.Train();
            try
            {
                var (labelScale, labelShift) = LabelScaling(data.Task);
                // Behind the piecewise-linear encoding fc1 reads bins, which no standardization changes: nothing to fold.
                var member = MlpEnsemble.Read(network.Model, hidden.Length + 1, data.Encoding is null ? data.Standardization : null, labelScale, labelShift);
                results[m] = (member, network.Epochs, network.Phases);
            }
            finally
            {
                network.Model.Dispose();
            }
        }
        set_num_threads(Math.Max(1, torchThreads / parallel));
        try
        {
            // One at a time (parallel 1) runs them all on this thread. A cancelled Fit or a member's own error surfaces as
            // it would from one network, not wrapped.
            SideBySide.Run(members, parallel, TrainMember);
        }
        finally
        {
            set_num_threads(torchThreads);
        }
        var trained = results.Select(r => r.Member).ToList();
        var epochs = results.SelectMany((r, m) => r.Epochs.Select(e => e with { Member = m + 1 })).ToList();
        var phases = results.SelectMany((r, m) => r.Phases.Select(p => FormattableString.Invariant($"member {m + 1} of {members} (seed {unchecked(seed + m)}): {p}"))).ToList();

        // The merged network's own scalings come from every training row (no row is held out: each member had its own).
        var allOptions = options.Copy();
        if (allOptions.ValidationSet is null)
            allOptions.ValidationFraction = 0;
        var all = TrainingData.Check(host, input, allOptions, createTask, seed);
        var (scale, shift) = LabelScaling(all.Task);
        using var mergeScope = NewDisposeScope();
        var shape = options.Network.InputShape(all.FeatureCount, all.Feature.Name);
        var wide = QatNetwork.Mlp(hidden.Select(h => h * members).ToArray());
        // Every member's encoding has the edges of the same rows (TrainingData.Encoding): the merged network needs one.
        if (all.Encoding is { } encoding)
            wide = wide.WithEncoding(encoding);
        nn.Module<Tensor, Tensor> merged;
        lock (QatTrainingSession.RandomLock) // building draws initial weights from TorchSharp's process-wide generator
            merged = wide.Build(shape, all.Task.OutputCount);
        MlpEnsemble.WriteAverage(merged, trained, hidden, all.Encoding?.OutputCount ?? shape.Size, all.Task.OutputCount,
            all.Encoding is null ? all.Standardization : null, scale, shift);
        phases.Add(FormattableString.Invariant($"merged the {members} members into {wide.Description}: outputs averaged{(all.Task.HasAccuracy ? "" : " in the label's units")}"));
        channel.Info(MessageSensitivity.None, "Qat " + phases[^1] + ".");
        var session2 = new QatTrainingSession(host, channel, allOptions, all.Task, all, seed);
        var calibrated = session2.Calibrate(merged, epochs, phases, clock.Elapsed.TotalSeconds);
        return session2.Finish(calibrated, members);
    }

    /// <summary>The label scaling a task's outputs are in: the regression label's scale and shift, 1 and 0 otherwise.</summary>
    private static (float Scale, float Shift) LabelScaling(TrainingTask task) =>
        task.Scoring is RegressionScoringTask regression ? (regression.LabelScale, regression.LabelShift) : (1f, 0f);
}
