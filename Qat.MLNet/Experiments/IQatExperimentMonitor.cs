namespace Qat.MLNet.Experiments;

/// <summary>Progress of an experiment (ML.NET AutoML's IMonitor, for QAT). Called on the experiment's thread.</summary>
public interface IQatExperimentMonitor
{
    /// <summary>A trial starts.</summary>
    void ReportRunningTrial(int id, QatTrialProposal proposal);

    /// <summary>A trial finished (completed, violating, failed or cancelled).</summary>
    void ReportCompletedTrial(QatTrialResult result);

    /// <summary>A trial is the best so far.</summary>
    void ReportBestTrial(QatTrialResult result);

    /// <summary>A trial threw; the experiment goes on.</summary>
    void ReportFailTrial(QatTrialResult result, Exception exception);
}
