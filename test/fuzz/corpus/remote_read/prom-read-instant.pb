
F€Ð•ÿ¼1à÷§ÿ¼1__name__remote_onlyreplicar1"€Ð•ÿ¼1 à÷§ÿ¼1