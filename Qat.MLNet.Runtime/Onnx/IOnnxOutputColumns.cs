using Microsoft.ML.Data;

namespace Qat.MLNet.Onnx;

/// <summary>
/// Where a scoring task's output columns go in the graph: ML.NET's context maps a column to a fresh variable (its
/// converter then adds the graph outputs); the standalone writer declares graph outputs of that type.
/// </summary>
internal interface IOnnxOutputColumns
{
    /// <summary>Declares output column <paramref name="columnName"/> of <paramref name="type"/>; returns the variable the task must write.</summary>
    string Declare(string columnName, DataViewType type);
}
