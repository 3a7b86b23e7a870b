/** Study specs, designs (grid, random, LHS, Sobol) and their parallel, resumable execution. */
export {};
