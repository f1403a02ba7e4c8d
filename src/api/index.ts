export { buildApp, CLOSE_MARGIN_MS, type AppDeps } from './app.js';
export { toJobSpec, drawSeed } from './to-job.js';
export { PREDICT_BODY, type PredictBody } from './schemas/request.js';
export { checkApiKey } from './plugins/auth.js';
export { SEED_HEADER } from './routes/predict.js';
