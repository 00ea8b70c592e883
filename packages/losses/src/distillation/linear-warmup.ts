import { checkNumber } from '@distillery/tensor';

/**
 * DKD's warm-up factor min(epoch / warmupEpochs, 1), epoch 1-indexed (mdistiller/distillers/DKD.py with
 * mdistiller/engine/trainer.py; default warm-up 20 epochs, ImageNet 1).
 */
export function linearWarmup(epoch: number, epochs: number): number {
  checkNumber(epoch, 'epoch', { min: 0 });
  checkNumber(epochs, 'epochs', { min: 0 });
  if (epochs === 0) return 1;
  return Math.min(epoch / epochs, 1);
}
