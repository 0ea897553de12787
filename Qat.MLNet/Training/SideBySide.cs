namespace Qat.MLNet.Training;

/// <summary>
/// Runs long jobs (an ensemble's members, seconds each) side by side on threads of their own and the caller's, not on the
/// thread pool: holding pool threads that long on a 2-core machine starves the pool, which also runs timers' callbacks
/// (a user's <c>CancelAfter</c> that ends a Fit would fire late).
/// </summary>
internal static class SideBySide
{
    /// <summary>
    /// Calls <paramref name="job"/> for 0 .. <paramref name="count"/> - 1, at most <paramref name="parallel"/> at a time (the
    /// caller's thread is one of them). After a job throws no new job starts; the running ones finish. Then the first
    /// cancellation, else the failure of the lowest job index, is rethrown as it was thrown (not wrapped). With
    /// <paramref name="parallel"/> 1 every job runs on the caller's thread, one after another.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or <paramref name="parallel"/> under 1.</exception>
    public static void Run(int count, int parallel, Action<int> job)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallel, 1);
        int next = -1;
        bool stop = false;
        var failures = new Exception?[count];
        void Work()
        {
            int i;
            while (!Volatile.Read(ref stop) && (i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    job(i);
                }
                catch (Exception e)
                {
                    failures[i] = e;
                    Volatile.Write(ref stop, true);
                }
            }
        }
        var threads = Enumerable.Range(1, Math.Max(0, Math.Min(parallel, count) - 1))
            .Select(t => new Thread(Work) { IsBackground = true, Name = $"Qat side by side {t}" })
            .ToList();
        threads.ForEach(t => t.Start());
        Work();
        threads.ForEach(t => t.Join());
        var thrown = failures.OfType<Exception>().ToList();
        if (thrown.Count > 0)
        {
            var cause = thrown.FirstOrDefault(e => e is OperationCanceledException) ?? thrown[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(cause).Throw();
        }
    }
}
