/**
 * Resolves true when `promise` settles (either way) within `ms`, false otherwise; never rejects.
 * For bounded waits on shutdown and start-up, where what the promise did is someone else's business.
 */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    late,
  ]).finally(() => clearTimeout(timer));
}
