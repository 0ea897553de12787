using Qat.MLNet.Training;

namespace Qat.MLNet.Tests.Training;

/// <summary>Long jobs side by side: every job runs once, no more at a time than asked, off the thread pool; errors as thrown.</summary>
[TestClass]
public sealed class SideBySideTests
{
    [TestMethod]
    public void Run_EveryJobOnce_AtMostParallelAtATime_OnTheCallerAndThreadsOfTheirOwn()
    {
        var runs = new int[7];
        int running = 0, most = 0;
        var pooled = new List<int>();
        int caller = Environment.CurrentManagedThreadId;
        var callerJobs = 0;
        using var firstThree = new Barrier(3); // jobs 0-2 meet here: only three at once gets them past it
        SideBySide.Run(7, 3, i =>
        {
            int now = Interlocked.Increment(ref running);
            lock (runs)
            {
                most = Math.Max(most, now);
                if (Thread.CurrentThread.IsThreadPoolThread && Environment.CurrentManagedThreadId != caller)
                    pooled.Add(i);
                if (Environment.CurrentManagedThreadId == caller)
                    callerJobs++;
            }
            if (i < 3)
                Assert.IsTrue(firstThree.SignalAndWait(TimeSpan.FromSeconds(30)), "three jobs run at once");
            Interlocked.Increment(ref runs[i]);
            Interlocked.Decrement(ref running);
        });
        CollectionAssert.AreEqual(Enumerable.Repeat(1, 7).ToArray(), runs);
        Assert.AreEqual(3, most, "three at a time, not more");
        Assert.IsEmpty(pooled, "no job holds a thread-pool thread");
        Assert.IsGreaterThan(0, callerJobs, "the caller's thread is one of the workers");
    }

    [TestMethod]
    public void Run_AJobThrows_NoNewJobStarts_AndTheErrorComesUnwrapped()
    {
        var started = new List<int>();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SideBySide.Run(20, 2, i =>
        {
            lock (started)
                started.Add(i);
            if (i == 1)
                throw new InvalidDataException("member 2 broke");
            Thread.Sleep(20);
        }));
        Assert.AreEqual("member 2 broke", e.Message);
        Assert.IsLessThan(20, started.Count, "jobs after the failure did not start");
    }

    [TestMethod]
    public void Run_CancellationAndAFailure_TheCancellationWins()
    {
        using var both = new Barrier(2); // both jobs are running before either throws
        Assert.ThrowsExactly<OperationCanceledException>(() => SideBySide.Run(2, 2, i =>
        {
            both.SignalAndWait(TimeSpan.FromSeconds(30));
            throw i == 0 ? new InvalidOperationException("first") : new OperationCanceledException("cancelled");
        }));
    }

    [TestMethod]
    public void Run_OneAtATime_RunsEveryJobOnTheCallersThread_InOrder()
    {
        int caller = Environment.CurrentManagedThreadId;
        var order = new List<(int Job, int Thread)>();
        SideBySide.Run(4, 1, i => order.Add((i, Environment.CurrentManagedThreadId)));
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 3 }, order.Select(o => o.Job).ToArray());
        Assert.IsTrue(order.All(o => o.Thread == caller));
    }

    [TestMethod]
    public void Run_NoJobs_DoesNothing_AndABadCountOrParallelismIsRefusedNamingIt()
    {
        SideBySide.Run(0, 2, _ => Assert.Fail("no job to run"));
        Assert.AreEqual("parallel", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SideBySide.Run(3, 0, _ => { })).ParamName);
        Assert.AreEqual("count", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SideBySide.Run(-1, 2, _ => { })).ParamName);
    }
}
