using Microsoft.ML.Runtime;

namespace Qat.MLNet.Training;

/// <summary>
/// The Fit's channel as one of several ensemble members training at the same time sees it: each message carries the
/// member's name in front (their epochs interleave in the log) and goes through a lock the members share, since one
/// channel is written from several threads. (ML.NET itself raises <c>MLContext.Log</c> from several threads, e.g. its
/// cursors' trace messages, so a handler must be thread-safe either way.) Disposing it does not dispose the Fit's channel.
/// </summary>
internal sealed class MemberChannel : IChannel
{
    private readonly IChannel _inner;
    private readonly object _gate;
    private readonly string _prefix;

    /// <param name="inner">The Fit's channel.</param>
    /// <param name="gate">The lock every member's channel shares.</param>
    /// <param name="prefix">Put in front of each message, e.g. "[member 2 of 5] ".</param>
    public MemberChannel(IChannel inner, object gate, string prefix)
    {
        _inner = inner;
        _gate = gate;
        _prefix = prefix;
    }

    /// <inheritdoc/>
    public string ContextDescription => _inner.ContextDescription;

    /// <inheritdoc/>
    public TException Process<TException>(TException ex) where TException : Exception => _inner.Process(ex);

    /// <inheritdoc/>
    public void Send(ChannelMessage msg)
    {
        lock (_gate)
            _inner.Send(msg);
    }

    /// <inheritdoc/>
    public void Trace(MessageSensitivity sensitivity, string fmt) => Locked(() => _inner.Trace(sensitivity, _prefix + fmt));

    /// <inheritdoc/>
    public void Trace(MessageSensitivity sensitivity, string fmt, params object[] args) => Locked(() => _inner.Trace(sensitivity, _prefix + fmt, args));

    /// <inheritdoc/>
    public void Error(MessageSensitivity sensitivity, string fmt) => Locked(() => _inner.Error(sensitivity, _prefix + fmt));

    /// <inheritdoc/>
    public void Error(MessageSensitivity sensitivity, string fmt, params object[] args) => Locked(() => _inner.Error(sensitivity, _prefix + fmt, args));

    /// <inheritdoc/>
    public void Warning(MessageSensitivity sensitivity, string fmt) => Locked(() => _inner.Warning(sensitivity, _prefix + fmt));

    /// <inheritdoc/>
    public void Warning(MessageSensitivity sensitivity, string fmt, params object[] args) => Locked(() => _inner.Warning(sensitivity, _prefix + fmt, args));

    /// <inheritdoc/>
    public void Info(MessageSensitivity sensitivity, string fmt) => Locked(() => _inner.Info(sensitivity, _prefix + fmt));

    /// <inheritdoc/>
    public void Info(MessageSensitivity sensitivity, string fmt, params object[] args) => Locked(() => _inner.Info(sensitivity, _prefix + fmt, args));

    /// <summary>Nothing to release: the Fit owns the channel.</summary>
    public void Dispose()
    {
    }

    private void Locked(Action send)
    {
        lock (_gate)
            send();
    }
}
