namespace Qat.MLNet.Modules;

/// <summary>How a float layer type takes part in fusion, PrepareQat and Convert.</summary>
internal enum OperationRole
{
    /// <summary>Linear, Conv2d: swapped for a QAT module with fake-quantized weights; becomes an int8 weighted layer.</summary>
    Weighted,

    /// <summary>BatchNorm2d: only right after a Conv2d, fused into it and folded at Convert.</summary>
    BatchNorm,

    /// <summary>A fused float module (Intrinsic.*): swapped for its QAT module like a weighted layer.</summary>
    Fused,

    /// <summary>ReLU, pooling, Flatten: kept as it is in training, converted to an int8 layer without weights.</summary>
    Converted,

    /// <summary>Dropout, Identity: no effect at inference; Convert leaves them out.</summary>
    Skipped,

    /// <summary>QuantStub, DeQuantStub: where the model enters and leaves the quantized domain.</summary>
    Stub,
}
