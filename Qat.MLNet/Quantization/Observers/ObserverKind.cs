namespace Qat.MLNet.Quantization.Observers;

/// <summary>The observer classes a <see cref="ObserverFactory"/> can make.</summary>
public enum ObserverKind
{
    /// <summary><see cref="MinMaxObserver"/>.</summary>
    MinMax,

    /// <summary><see cref="MovingAverageMinMaxObserver"/>.</summary>
    MovingAverageMinMax,

    /// <summary><see cref="PerChannelMinMaxObserver"/>.</summary>
    PerChannelMinMax,

    /// <summary><see cref="MovingAveragePerChannelMinMaxObserver"/>.</summary>
    MovingAveragePerChannelMinMax,
}
