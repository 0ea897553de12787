namespace Qat.MLNet.Inference;

/// <summary>Reads one layer's own fields and builds it; <paramref name="name"/> and <paramref name="inputShape"/> are read already.</summary>
internal delegate QuantizedLayer LayerReader(ref PayloadReader reader, string name, ActivationShape inputShape);
