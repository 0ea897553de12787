using Microsoft.ML.Data;
using Qat.MLNet.Training;

namespace Qat.MLNet.Tests.Training;

[TestClass]
public sealed class HoldoutSplitTests
{
    private static HashSet<ulong> Held(int seed, int classes, int rowsPerClass, bool sortedByClass)
    {
        var split = new HoldoutSplit(0.2, seed);
        var held = new HashSet<ulong>();
        int rows = classes * rowsPerClass;
        for (int r = 0; r < rows; r++)
        {
            int c = sortedByClass ? r / rowsPerClass : r % classes;
            if (split.Assign(new DataViewRowId((ulong)r, 0), c))
                held.Add((ulong)r);
        }
        Assert.AreEqual(held.Count, split.HeldOutCount);
        foreach (ulong r in held)
            Assert.IsTrue(split.IsHeldOut(new DataViewRowId(r, 0)));
        return held;
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Assign_EachClassGivesItsShare_WhateverTheOrder(bool sortedByClass)
    {
        var held = Held(seed: 3, classes: 3, rowsPerClass: 100, sortedByClass);
        for (int c = 0; c < 3; c++)
        {
            int inClass = held.Count(r => (sortedByClass ? (int)r / 100 : (int)r % 3) == c);
            Assert.AreEqual(20, inClass, $"class {c}");
        }
    }

    [TestMethod]
    public void Assign_SameSeed_SameRows_OtherSeed_OtherRows()
    {
        CollectionAssert.AreEquivalent(Held(7, 2, 50, false).ToArray(), Held(7, 2, 50, false).ToArray());
        CollectionAssert.AreNotEquivalent(Held(7, 2, 50, false).ToArray(), Held(8, 2, 50, false).ToArray());
    }
}
