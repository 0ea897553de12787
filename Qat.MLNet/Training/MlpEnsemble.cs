using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Modules.Qat;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// Merges trained copies of one built-in MLP into a single wider MLP that computes their average. Each member may have its
/// own feature standardization and (regression) label scaling; the merged network uses one of each, and the members'
/// are folded into its first and last layers, so the merge is exact arithmetic, not a retraining:
/// <list type="bullet">
/// <item>first layer: the members' weight rows stacked, each scaled to the common standardization
/// (<c>W' = W diag(a_k / a)</c>, <c>b' = b + W ((m - m_k) a_k)</c> for means m and multipliers a);</item>
/// <item>hidden layers: block-diagonal, each member's block reading only its own units;</item>
/// <item>last layer: the members' columns side by side, each multiplied by <c>s_k / (K s)</c> and the biases averaged the
/// same way, so the output is the mean of the members' outputs in the label's units, expressed in the common label scaling
/// (<c>s</c>, <c>t</c>: <c>label = output s + t</c>; 1 and 0 for classification, whose logits are averaged).</item>
/// </list>
/// </summary>
internal static class MlpEnsemble
{
    /// <summary>One trained member: its layers' float weights (row-major [out, in]) and biases, and its input and output scalings.</summary>
    internal sealed record Member(IReadOnlyList<(float[] Weight, float[] Bias)> Layers, FeatureStandardization? Standardization, float LabelScale, float LabelShift);

    /// <summary>
    /// Reads the float weights of a trained built-in MLP (as the session wraps it: <c>net.fc1</c> ... <c>net.fcN</c>, each a
    /// QAT module after PrepareQat or a float Linear kept in float).
    /// </summary>
    public static Member Read(nn.Module model, int layerCount, FeatureStandardization? standardization, float labelScale, float labelShift)
    {
        var layers = new List<(float[], float[])>();
        for (int i = 1; i <= layerCount; i++)
        {
            var module = ModuleTree.Resolve(model, $"net.fc{i}");
            var (weight, bias) = module switch
            {
                QatModule q => ((Tensor)q.Weight, (Tensor?)q.Bias),
                TorchSharp.Modules.Linear l => ((Tensor)l.weight!, (Tensor?)l.bias),
                _ => throw new InvalidOperationException($"net.fc{i} of the trained MLP is a {module.GetType().Name}, not a Linear layer: it cannot be merged."),
            };
            using var noGrad = no_grad();
            float[] w = weight.detach().cpu().contiguous().data<float>().ToArray();
            float[] b = bias is null ? new float[weight.shape[0]] : bias.detach().cpu().contiguous().data<float>().ToArray();
            layers.Add((w, b));
        }
        return new Member(layers, standardization, labelScale, labelShift);
    }

    /// <summary>
    /// Writes the average of <paramref name="members"/> into <paramref name="merged"/>, a freshly built MLP (wrapped as the
    /// session wraps it) whose hidden widths are the members' times their count.
    /// </summary>
    /// <param name="merged">The wider network; its weights are overwritten.</param>
    /// <param name="members">The trained members, all of one shape.</param>
    /// <param name="hiddenSizes">One member's hidden widths.</param>
    /// <param name="inputs">Input features.</param>
    /// <param name="outputs">Outputs per row.</param>
    /// <param name="standardization">The merged network's feature standardization (null when features are used as given).</param>
    /// <param name="labelScale">The merged network's label scale (1 for classification).</param>
    /// <param name="labelShift">The merged network's label shift (0 for classification).</param>
    public static void WriteAverage(nn.Module merged, IReadOnlyList<Member> members, int[] hiddenSizes, int inputs, int outputs,
        FeatureStandardization? standardization, float labelScale, float labelShift)
    {
        int k = members.Count;
        int[] widths = [inputs, .. hiddenSizes, outputs];
        int layerCount = widths.Length - 1;
        float[]? commonMean = standardization?.Mean, commonScale = standardization?.Scale;
        for (int layer = 0; layer < layerCount; layer++)
        {
            int inWidth = widths[layer], outWidth = widths[layer + 1];
            bool first = layer == 0, last = layer == layerCount - 1;
            int mergedIn = first ? inWidth : inWidth * k;
            int mergedOut = last ? outWidth : outWidth * k;
            var w = new float[mergedOut * mergedIn];
            var b = new float[mergedOut];
            for (int m = 0; m < k; m++)
            {
                var member = members[m];
                var (mw, mb) = member.Layers[layer];
                int rowOffset = last ? 0 : m * outWidth;
                int colOffset = first ? 0 : m * inWidth;
                // The output layer averages the members in the label's units: each member's column scaled by s_k / (K s).
                double outputFactor = last ? member.LabelScale / ((double)k * labelScale) : 1;
                float[]? ownMean = first ? member.Standardization?.Mean : null, ownScale = first ? member.Standardization?.Scale : null;
                for (int o = 0; o < outWidth; o++)
                {
                    double bias = mb[o];
                    for (int i = 0; i < inWidth; i++)
                    {
                        double weight = mw[o * inWidth + i];
                        if (commonScale is not null && ownScale is not null)
                        {
                            // The member saw (x - m_k) a_k; the merged network sees z = (x - m) a, so x = z / a + m.
                            bias += weight * (commonMean![i] - ownMean![i]) * ownScale[i];
                            weight *= ownScale[i] / commonScale[i];
                        }
                        w[(rowOffset + o) * mergedIn + colOffset + i] += (float)(weight * outputFactor);
                    }
                    b[rowOffset + o] += (float)(bias * outputFactor);
                }
            }
            if (last)
            {
                // Each member's shift t_k enters once, averaged, less the merged network's own shift.
                double shift = members.Average(m => (double)m.LabelShift);
                for (int o = 0; o < outWidth; o++)
                    b[o] += (float)((shift - labelShift) / labelScale);
            }
            var linear = (TorchSharp.Modules.Linear)ModuleTree.Resolve(merged, $"net.fc{layer + 1}");
            using var noGrad = no_grad();
            using var wt = tensor(w, [mergedOut, mergedIn]);
            using var bt = tensor(b, [mergedOut]);
            linear.weight!.copy_(wt);
            linear.bias!.copy_(bt);
        }
    }
}
