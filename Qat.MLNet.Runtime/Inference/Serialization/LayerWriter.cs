namespace Qat.MLNet.Inference;

/// <summary>Writes one layer's own fields (after kind, name and input shape).</summary>
internal delegate void LayerWriter(BinaryWriter writer, QuantizedLayer layer);
