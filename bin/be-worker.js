#!/usr/bin/env node
import '../dist/be-worker.js';
