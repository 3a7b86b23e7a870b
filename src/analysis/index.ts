/** Polynomial OLS with statsmodels-grade inference, absolute and relative frames. Knows no tensors or database. */
export {};
